"""The reference model: a tiny GPT-2 pretrained on the toy grammar, cached on disk.

The model is trained until the tokens it samples are grammatical often enough
(:attr:`PretrainConfig.target_grammatical`), then saved under
``<cache>/reference-<key>/``, where ``<key>`` hashes the grammar, the config and
:data:`CODE_VERSION`. The cache folder is ``$ALIGNQUIZ_CACHE``, else
``$XDG_CACHE_HOME/alignquiz``, else ``~/.cache/alignquiz``. The first use trains it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.cache import cache_dir, content_key, read_cached, write_atomically
from simulator.errors import ModelCacheError, SimulatorError
from simulator.grammar import grammar_fingerprint, grammatical_frac, sample_sentence
from simulator.tokenizer import Tokenizer

if TYPE_CHECKING:
    import torch
    from transformers import GPT2LMHeadModel

__all__ = [
    "CODE_VERSION",
    "PretrainConfig",
    "PretrainReport",
    "load_reference",
    "pretrain",
    "reference_path",
    "sample_fluency",
]

CODE_VERSION = 1
"""Bump when the training code changes what it produces: the cache key includes it."""


@dataclass(frozen=True)
class PretrainConfig:
    """How the reference model is built and trained."""

    n_layer: int = 2
    """Transformer blocks."""
    n_head: int = 4
    """Attention heads per block."""
    n_embd: int = 64
    """Width of the residual stream."""
    block_size: int = 32
    """Tokens per training sequence: BOS, then sentences cut at this length."""
    n_sequences: int = 4096
    """Training sequences sampled from the grammar (once, with ``seed``)."""
    batch_size: int = 64
    """Sequences per optimiser step."""
    learning_rate: float = 3e-3
    """AdamW learning rate (constant, after a short linear warm-up)."""
    max_steps: int = 3000
    """Give up (an error) if the target is not reached within this many steps."""
    eval_every: int = 100
    """Steps between fluency checks."""
    eval_samples: int = 256
    """Responses sampled per fluency check."""
    eval_length: int = 16
    """Tokens per sampled response in a fluency check (the PPO response length)."""
    target_grammatical: float = 0.99
    """Stop once this fraction of sampled tokens is grammatical (the floor is 0.95)."""
    seed: int = 0
    """Seed of the data, the initial weights and the sampling."""
    threads: int = 1
    """Torch CPU threads (one is fastest for a model this small)."""

    @property
    def key(self) -> str:
        """Content hash of the grammar, this config (less ``threads``, which changes
        only the speed) and :data:`CODE_VERSION`."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "threads"}
        return content_key([grammar_fingerprint(), fields, CODE_VERSION])


@dataclass(frozen=True)
class PretrainReport:
    """What pretraining reached (stored next to the model as ``meta.json``)."""

    steps: int
    """Optimiser steps taken."""
    seconds: float
    """Wall-clock time of the training."""
    grammatical_frac: float
    """Fraction of grammatical tokens in the last fluency check."""
    loss: float
    """Training loss at the last step."""


def reference_path(config: PretrainConfig) -> Path:
    """Where the reference model of ``config`` is (or will be) cached."""
    return cache_dir() / f"reference-{config.key}"


def _build_model(config: PretrainConfig, tokenizer: Tokenizer) -> GPT2LMHeadModel:
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt_config = GPT2Config(
        vocab_size=tokenizer.vocab_size,
        n_positions=64,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        resid_pdrop=0.0,  # no dropout: PPO's first-epoch ratios must be exactly 1
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.bos_id,
        eos_token_id=tokenizer.eos_id,
        pad_token_id=tokenizer.pad_id,
    )
    return GPT2LMHeadModel(gpt_config)


def _training_data(config: PretrainConfig, tokenizer: Tokenizer) -> torch.Tensor:
    """``(n_sequences, block_size)`` ids: BOS, then whole sentences, cut at the block."""
    import torch

    rng = random.Random(config.seed)
    rows = []
    for _ in range(config.n_sequences):
        words: list[str] = []
        while len(words) < config.block_size - 1:
            words.extend(sample_sentence(rng))
        rows.append([tokenizer.bos_id] + tokenizer.encode(" ".join(words))[: config.block_size - 1])
    return torch.tensor(rows, dtype=torch.long)


def sample_fluency(
    model: torch.nn.Module, n: int, length: int, seed: int, device: str = "cpu"
) -> float:
    """Fraction of grammatical tokens in ``n`` responses of ``length`` sampled after BOS."""
    import torch

    from simulator.sampling import generate

    tokenizer = Tokenizer()
    generator = torch.Generator(device=device).manual_seed(seed)
    queries = torch.full((n, 1), tokenizer.bos_id, dtype=torch.long, device=device)
    responses = generate(model, queries, length, tokenizer.special_ids, generator)
    flags = [grammatical_frac(tokenizer.tokens(r)) for r in responses.tolist()]
    return sum(flags) / len(flags)


def pretrain(
    config: PretrainConfig, *, device: str = "cpu", progress: bool = False
) -> tuple[GPT2LMHeadModel, PretrainReport]:
    """Train a reference model from scratch until it writes grammatical text."""
    from simulator.sampling import torch_threads

    with torch_threads(config.threads):
        return _pretrain(config, device, progress)


def _pretrain(
    config: PretrainConfig, device: str, progress: bool
) -> tuple[GPT2LMHeadModel, PretrainReport]:
    import torch
    from rich.progress import Progress

    torch.manual_seed(config.seed)
    tokenizer = Tokenizer()
    data = _training_data(config, tokenizer).to(device)  # (N, T)
    model = _build_model(config, tokenizer).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    warmup = 50
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    generator = torch.Generator(device="cpu").manual_seed(config.seed)

    start, frac, loss_value = time.perf_counter(), 0.0, float("nan")
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("pretraining the reference model", total=config.max_steps)
        for step in range(1, config.max_steps + 1):
            idx = torch.randint(len(data), (config.batch_size,), generator=generator)
            batch = data[idx.to(device)]  # (B, T)
            logits = model(input_ids=batch[:, :-1]).logits  # (B, T-1, V)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1)
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_value = loss.item()
            bar.update(task, advance=1)
            if step % config.eval_every == 0:
                model.eval()
                frac = sample_fluency(
                    model, config.eval_samples, config.eval_length, config.seed + step, device
                )
                model.train()
                bar.update(task, description=f"pretraining: loss {loss_value:.3f}, "
                           f"grammatical {frac:.1%}")  # fmt: skip
                if frac >= config.target_grammatical:
                    break
    if frac < config.target_grammatical:
        raise SimulatorError(
            f"pretraining reached only {frac:.1%} grammatical tokens in {config.max_steps} "
            f"steps (target {config.target_grammatical:.0%})"
        )
    model.eval()
    report = PretrainReport(step, round(time.perf_counter() - start, 2), frac, loss_value)
    return model, report


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' own progress bars (ours is the rich one)."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _save(model: GPT2LMHeadModel, report: PretrainReport, path: Path) -> None:
    """Write the model and its report atomically."""

    def write(folder: Path) -> None:
        with _quiet_transformers():
            model.save_pretrained(folder)
        (folder / "meta.json").write_text(json.dumps(dataclasses.asdict(report), indent=2))

    write_atomically(path, write)


def _load(path: Path) -> tuple[GPT2LMHeadModel, PretrainReport]:
    from transformers import GPT2LMHeadModel

    def read(folder: Path) -> tuple[GPT2LMHeadModel, PretrainReport]:
        report = PretrainReport(**json.loads((folder / "meta.json").read_text()))
        with _quiet_transformers():
            model = GPT2LMHeadModel.from_pretrained(folder, local_files_only=True)
        return model, report

    model, report = read_cached(path, "reference model", "alignquiz sim pretrain --force", read)
    model.eval()
    return model, report


def load_reference(
    config: PretrainConfig | None = None,
    *,
    device: str = "cpu",
    train_if_missing: bool = True,
    force: bool = False,
    progress: bool = False,
) -> tuple[GPT2LMHeadModel, PretrainReport]:
    """The cached reference model of ``config``; trained and cached on first use.

    ``force`` retrains even when a cached model exists. A missing model with
    ``train_if_missing=False``, or a corrupt one, is a :class:`ModelCacheError`.
    """
    config = config or PretrainConfig()
    path = reference_path(config)
    if path.exists() and not force:
        model, report = _load(path)
        return model.to(device), report
    if not train_if_missing and not force:
        raise ModelCacheError(
            "no cached reference model; make it with `alignquiz sim pretrain`", path=str(path)
        )
    model, report = pretrain(config, device=device, progress=progress)
    _save(model, report, path)
    return model, report
