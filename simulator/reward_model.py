"""A learned reward model: Bradley-Terry on preference pairs, the real RLHF recipe.

The reference model writes responses (BOS, then ``response_length`` words, as PPO's
rollouts do); random pairs of them are labelled by the gold score (the preferred
response has the higher gold score; ties are dropped), and a scalar head on a
fine-tuned copy of the reference's transformer (hidden states mean-pooled over the
response) is trained with the Bradley-Terry loss ``-log sigmoid(r_chosen - r_rejected)``.
Held-out pairs measure its pairwise accuracy.

Its outputs are then put on the gold scale (a gain and a bias, as lm-human-preference-
details normalises its reward model): on the reference's own samples the learned reward
has the gold score's mean and standard deviation, so a beta means the same with either.

The model only ever saw fluent text: the reference's samples are almost all grammatical,
so it learns "positive words are good" and never "ungrammatical words are bad". A policy
optimising it finds that flaw off the training distribution (repeated positive words).

The trained model is cached like the reference, under
``<cache>/reward-<key>/`` (:func:`simulator.cache.cache_dir`), where ``<key>`` hashes
this config (the reference's key included) and :data:`CODE_VERSION`.
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.cache import cache_dir, content_key, read_cached, write_atomically
from simulator.errors import ModelCacheError
from simulator.pretrain import PretrainConfig
from simulator.reward import gold_score
from simulator.tokenizer import Tokenizer

if TYPE_CHECKING:
    import torch
    from transformers import GPT2LMHeadModel

__all__ = [
    "CODE_VERSION",
    "RewardModelConfig",
    "RewardModelReport",
    "load_reward_model",
    "reward_model_path",
    "train_reward_model",
]

CODE_VERSION = 1
"""Bump when the training code changes what it produces: the cache key includes it."""


@dataclass(frozen=True)
class RewardModelConfig:
    """How the learned reward model is built and trained."""

    n_responses: int = 8192
    """Responses sampled from the reference to make the training pairs."""
    n_eval_responses: int = 2048
    """Responses sampled (separately) for the held-out pairs."""
    response_length: int = 16
    """Words per response (PPO's response length)."""
    epochs: int = 3
    """Passes over the training pairs."""
    batch_size: int = 64
    """Pairs per optimiser step."""
    learning_rate: float = 1e-3
    """AdamW learning rate of the head and the fine-tuned trunk."""
    seed: int = 0
    """Seed of the sampled responses, the pairing, the head and the batch order."""
    threads: int = 1
    """Torch CPU threads (one is fastest for a model this small)."""
    pretrain: PretrainConfig = PretrainConfig()
    """The reference model whose samples and trunk the reward model starts from."""

    @property
    def n_pairs(self) -> int:
        """Training pairs drawn (before ties are dropped)."""
        return self.n_responses // 2

    @property
    def key(self) -> str:
        """Content hash of this config (less ``threads``), the reference's key and
        :data:`CODE_VERSION`."""
        fields = {
            k: v for k, v in dataclasses.asdict(self).items() if k not in ("threads", "pretrain")
        }
        return content_key([self.pretrain.key, fields, CODE_VERSION])


@dataclass(frozen=True)
class RewardModelReport:
    """What training reached (stored next to the model as ``meta.json``)."""

    train_pairs: int
    """Training pairs left after ties were dropped."""
    eval_pairs: int
    """Held-out pairs left after ties were dropped."""
    train_accuracy: float
    """Pairwise accuracy on the training pairs."""
    eval_accuracy: float
    """Pairwise accuracy on the held-out pairs (responses never trained on)."""
    gain: float
    """Scale putting the raw output on the gold score's scale."""
    bias: float
    """Offset putting the raw output on the gold score's scale."""
    seconds: float
    """Wall-clock time of sampling and training."""


def reward_model_path(config: RewardModelConfig) -> Path:
    """Where the reward model of ``config`` is (or will be) cached."""
    return cache_dir() / f"reward-{config.key}"


def _build(reference: GPT2LMHeadModel) -> torch.nn.Module:
    """A scalar head on a trainable copy of ``reference``'s transformer."""
    import copy

    import torch

    class RewardModel(torch.nn.Module):
        """``forward(ids (B, 1 + T)) -> rewards (B,)``, on the gold scale once fitted.

        The ids are BOS then the response; hidden states are mean-pooled over the
        response positions, then a linear head gives the raw score.
        """

        def __init__(self, trunk: torch.nn.Module, n_embd: int) -> None:
            super().__init__()
            self.trunk = trunk
            self.head = torch.nn.Linear(n_embd, 1)
            self.register_buffer("gain", torch.tensor(1.0))
            self.register_buffer("bias", torch.tensor(0.0))

        def raw(self, ids: torch.Tensor) -> torch.Tensor:
            hidden = self.trunk(input_ids=ids).last_hidden_state[:, 1:]  # (B, T, C)
            return self.head(hidden.mean(1)).squeeze(-1)  # (B,)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.gain * self.raw(ids) + self.bias

    trunk = copy.deepcopy(reference.transformer)
    for p in trunk.parameters():
        p.requires_grad_(True)
    model = RewardModel(trunk, reference.config.n_embd)
    return model.to(next(reference.parameters()).device)


def _sample(
    reference: GPT2LMHeadModel, n: int, length: int, seed: int, device: str
) -> tuple[torch.Tensor, list[float]]:
    """``n`` reference responses as ``(n, 1 + length)`` ids (BOS first) and gold scores."""
    import torch

    from simulator.sampling import generate

    tokenizer = Tokenizer()
    generator = torch.Generator(device=device).manual_seed(seed)
    chunks = []
    for start in range(0, n, 1024):
        queries = torch.full((min(1024, n - start), 1), tokenizer.bos_id, device=device)
        responses = generate(reference, queries, length, tokenizer.special_ids, generator)
        chunks.append(torch.cat([queries, responses], dim=1))
    ids = torch.cat(chunks)  # (n, 1 + T)
    golds = [gold_score(tokenizer.tokens(r)) for r in ids[:, 1:].tolist()]
    return ids, golds


def _pairs(golds: list[float], seed: int) -> list[tuple[int, int]]:
    """Random disjoint pairs ``(chosen, rejected)`` by gold score; ties dropped."""
    order = list(range(len(golds)))
    random.Random(seed).shuffle(order)
    pairs = []
    for a, b in zip(order[::2], order[1::2], strict=False):
        if golds[a] != golds[b]:
            pairs.append((a, b) if golds[a] > golds[b] else (b, a))
    return pairs


def _accuracy(model: torch.nn.Module, ids: torch.Tensor, pairs: list[tuple[int, int]]) -> float:
    import torch

    with torch.no_grad():
        scores = torch.cat([model.raw(chunk) for chunk in ids.split(1024)])  # (n,)
    index = torch.tensor(pairs, device=ids.device)  # (P, 2)
    return (scores[index[:, 0]] > scores[index[:, 1]]).float().mean().item()


def train_reward_model(
    config: RewardModelConfig,
    reference: GPT2LMHeadModel,
    *,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[torch.nn.Module, RewardModelReport]:
    """Train a reward model on gold-labelled pairs of ``reference``'s samples."""
    from simulator.sampling import torch_threads

    with torch_threads(config.threads):
        return _train(config, reference, device, progress)


def _train(
    config: RewardModelConfig, reference: GPT2LMHeadModel, device: str, progress: bool
) -> tuple[torch.nn.Module, RewardModelReport]:
    import torch
    from rich.progress import Progress

    start = time.perf_counter()
    torch.manual_seed(config.seed)
    reference.eval()
    # 1. the reference's own samples, scored by gold; held-out ones from another seed
    ids, golds = _sample(reference, config.n_responses, config.response_length,
                         config.seed, device)  # fmt: skip
    eval_ids, eval_golds = _sample(reference, config.n_eval_responses, config.response_length,
                                   config.seed + 1_000_003, device)  # fmt: skip
    # 2. preference pairs: the higher gold score is chosen, ties dropped
    pairs = _pairs(golds, config.seed)
    eval_pairs = _pairs(eval_golds, config.seed + 1)
    if not pairs or not eval_pairs:
        from simulator.errors import SimulatorError

        raise SimulatorError("the reference's samples gave no untied preference pairs")
    pair_index = torch.tensor(pairs, device=device)  # (P, 2): chosen, rejected

    # 3. Bradley-Terry: minimise -log sigmoid(r_chosen - r_rejected)
    model = _build(reference)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    n_batches = -(-len(pairs) // config.batch_size)
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("training the reward model", total=config.epochs * n_batches)
        for epoch in range(config.epochs):
            order = torch.randperm(len(pairs), generator=generator).to(device)
            for mb in order.split(config.batch_size):
                chosen, rejected = pair_index[mb, 0], pair_index[mb, 1]
                r = model.raw(torch.cat([ids[chosen], ids[rejected]]))  # (2b,)
                r_chosen, r_rejected = r.chunk(2)
                loss = -torch.nn.functional.logsigmoid(r_chosen - r_rejected).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                bar.update(task, advance=1, description=f"reward model: epoch {epoch + 1}, "
                           f"loss {loss.item():.3f}")  # fmt: skip
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    # 4. measure, then put the output on the gold scale over the reference's samples
    train_acc = _accuracy(model, ids, pairs)
    eval_acc = _accuracy(model, eval_ids, eval_pairs)
    with torch.no_grad():
        raw = torch.cat([model.raw(chunk) for chunk in ids.split(1024)])
    gain = statistics.pstdev(golds) / max(raw.std(unbiased=False).item(), 1e-8)
    bias = statistics.fmean(golds) - gain * raw.mean().item()
    model.gain.fill_(gain)
    model.bias.fill_(bias)
    report = RewardModelReport(
        len(pairs), len(eval_pairs), round(train_acc, 4), round(eval_acc, 4),
        gain, bias, round(time.perf_counter() - start, 2),
    )  # fmt: skip
    return model, report


def _save(model: torch.nn.Module, report: RewardModelReport, path: Path) -> None:
    """Write the weights and the report atomically."""
    from safetensors.torch import save_file

    def write(folder: Path) -> None:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        (folder / "meta.json").write_text(json.dumps(dataclasses.asdict(report), indent=2))

    write_atomically(path, write)


def _load(
    path: Path, reference: GPT2LMHeadModel, device: str
) -> tuple[torch.nn.Module, RewardModelReport]:
    from safetensors.torch import load_file

    def read(folder: Path) -> tuple[torch.nn.Module, RewardModelReport]:
        report = RewardModelReport(**json.loads((folder / "meta.json").read_text()))
        model = _build(reference)
        model.load_state_dict(load_file(str(folder / "model.safetensors"), device=device))
        return model, report

    model, report = read_cached(path, "reward model", "alignquiz sim reward-model --force", read)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, report


def load_reward_model(
    config: RewardModelConfig | None = None,
    *,
    device: str = "cpu",
    train_if_missing: bool = True,
    force: bool = False,
    progress: bool = False,
) -> tuple[torch.nn.Module, RewardModelReport]:
    """The cached reward model of ``config``; trained and cached on first use.

    The reference model is loaded (or trained) first. ``force`` retrains even when a
    cached model exists. A missing model with ``train_if_missing=False``, or a corrupt
    one, is a :class:`ModelCacheError`.
    """
    from simulator.pretrain import load_reference

    config = config or RewardModelConfig()
    path = reward_model_path(config)
    if not path.exists() and not train_if_missing and not force:
        raise ModelCacheError(
            "no cached reward model; make it with `alignquiz sim reward-model`", path=str(path)
        )
    reference, _ = load_reference(config.pretrain, device=device, progress=progress)
    if path.exists() and not force:
        return _load(path, reference, device)
    model, report = train_reward_model(config, reference, device=device, progress=progress)
    _save(model, report, path)
    return model, report
