"""The policy (the LM plus a value head) and the frozen reference it is kept near.

The policy starts as a copy of the pretrained reference; the value head reads the same
final hidden states as the LM head (one trunk, as in TRL's ``...WithValueHead``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import GPT2LMHeadModel

__all__ = ["make_policy", "make_reference", "response_logits", "token_logp"]


def make_policy(reference: GPT2LMHeadModel, seed: int) -> torch.nn.Module:
    """A trainable copy of ``reference`` with a value head (initialised with ``seed``)."""
    import copy

    import torch

    class PolicyWithValue(torch.nn.Module):
        """``forward(ids) -> (logits (B, T, V), values (B, T))``."""

        def __init__(self, lm: GPT2LMHeadModel) -> None:
            super().__init__()
            self.lm = lm
            self.value_head = torch.nn.Linear(lm.config.n_embd, 1)

        def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hidden = self.lm.transformer(input_ids=input_ids).last_hidden_state  # (B, T, C)
            logits = self.lm.lm_head(hidden)  # (B, T, V)
            values = self.value_head(hidden).squeeze(-1)  # (B, T)
            return logits, values

    lm = copy.deepcopy(reference)
    lm.train()  # dropout is 0, so train and eval modes compute the same
    for p in lm.parameters():
        p.requires_grad_(True)
    policy = PolicyWithValue(lm)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head = policy.value_head
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.01)
        head.bias.zero_()
    return policy.to(next(reference.parameters()).device)


def make_reference(reference: GPT2LMHeadModel) -> GPT2LMHeadModel:
    """``reference`` frozen: eval mode and no gradients."""
    reference.eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    return reference


def response_logits(
    logits: torch.Tensor, query_length: int, special_ids: Sequence[int]
) -> torch.Tensor:
    """The logits that predicted each response token, specials masked.

    ``logits`` is ``(B, Q + T, V)`` over query and response; position ``i`` predicts
    token ``i + 1``, so the response's predictors are ``Q - 1 .. Q + T - 2``.
    Returns ``(B, T, V)``.
    """
    from simulator.sampling import mask_special

    return mask_special(logits[:, query_length - 1 : -1, :], special_ids)


def token_logp(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Log-probability of each token: ``(B, T, V), (B, T) -> (B, T)``."""
    import torch

    logp = torch.log_softmax(logits, dim=-1)
    return torch.gather(logp, 2, tokens.unsqueeze(-1)).squeeze(-1)
