"""``Frozen``, the base of every model in ``questions``: immutable, unknown fields rejected.

The root of the models' import chain, which points one way: ``questions.frozen`` <-
``questions.tolerance`` <- ``questions.models`` <- ``questions.variants``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen"]


class Frozen(BaseModel):
    """Base of every model: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)
