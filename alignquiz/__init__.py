"""alignquiz: auto-graded assessments for teaching RLHF (PPO with a KL penalty).

This package is only the composition root: the ``alignquiz`` console script.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
