"""The RLHF simulator: real PPO with a KL penalty on a tiny language model.

==================  =============================================================
module              job
==================  =============================================================
grammar, tokenizer  the toy language: sampler, exact fluency check, word tokenizer
pretrain, sampling  the tiny GPT-2 reference model (trained once, cached by hash)
reward, textstats   proxy reward (flawed), gold score, repetition and diversity
reward_model        learned reward: Bradley-Terry on gold-labelled pairs (cached)
config              ``RunConfig``: one PPO run, frozen, a docstring per field
losses              torch twins of ``questions.ppo_math``; the KL controller
policy              policy with value head, frozen reference, log-probabilities
train               ``train(config) -> RunResult`` in numbered steps; ``METRICS``
verdict             ``reward_hacking`` / ``healthy`` / ``stuck`` from measurements
sweep, plots        resumable grids over beta and seed; matplotlib figures
cli                 the ``sim`` commands (``COMMANDS`` for the root CLI)
==================  =============================================================

Importing any of these modules is light: torch, transformers and matplotlib load inside
the functions that need them, so the CLI starts fast.
"""

__all__: list[str] = []
