"""The question bank: item models, the PPO formulas, seeded generation and rendering.

The light leaf of alignquiz: pydantic, jinja2 and YAML only (no numpy, no torch).
"""
