"""The pair classifier: given a reference answer and a student's answer, is the answer
``correct``, ``contradictory`` or ``incorrect``?

A cross-encoder on top of the packaged all-MiniLM-L6-v2 (:mod:`grader.embedding`): the
reference and the answer go through the transformer together as one pair, so it sees
negations and opposite words against the reference, which cosine similarity cannot.
What ships (``grader/models/pair/``, a few MB, see its README for data and licence):

- ``adapter_model.safetensors`` + ``adapter_config.json``: a LoRA adapter in peft's
  format, trained by ``bench/train_pair.py`` on the SemEval-2013 training splits only;
- ``head.safetensors``: the linear layer from the mean-pooled tokens to the 3 labels;
- ``meta.json``: labels, input format and the measured validation numbers.

Loading merges the adapter into a private copy of MiniLM's weights (``W + s * B @ A``,
peft's rule), so inference needs neither peft nor a second model pass. One pass per
essay: the caller picks the closest reference first. torch and transformers are
imported inside :func:`load_pair_classifier` only.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grader.embedding import mean_pool, model_dir, verify_model
from grader.errors import ModelError

__all__ = [
    "LABELS",
    "PAIR_DIR",
    "PairClassifier",
    "add_updates",
    "get_pair_classifier",
    "load_pair_classifier",
    "lora_updates",
    "mean_pool",
    "pair_inputs",
]

LABELS = ("correct", "contradictory", "incorrect")
PAIR_DIR = Path(__file__).parent / "models" / "pair"
MAX_LENGTH = 256
BATCH_SIZE = 32


def pair_inputs(question: str | None, reference: str, answer: str, with_question: bool):
    """The two segments the classifier reads: (question +) reference, then the answer.

    >>> pair_inputs("Why?", "Because.", "Since.", True)
    ('Why? Because.', 'Since.')
    """
    first = f"{question} {reference}" if with_question and question else reference
    return first, answer or "-"


def lora_updates(adapter: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Each adapted weight's full update ``scale * B @ A`` (fp32), by module path (peft's
    key names without ``base_model.model.``), with peft's scale ``alpha / r``."""
    scale = config["lora_alpha"] / (config["r"] ** 0.5 if config.get("use_rslora") else config["r"])
    return {
        key.split(".lora_A.")[0].removeprefix("base_model.model."): scale
        * (adapter[key.replace(".lora_A.", ".lora_B.")].float() @ a.float())
        for key, a in adapter.items()
        if ".lora_A." in key
    }


def add_updates(model: Any, updates: dict[str, Any]) -> int:
    """Add each update to the weight of the module it names; return how many."""
    import torch

    modules = dict(model.named_modules())
    for path, delta in updates.items():
        target = modules.get(path)
        if target is None:
            raise ModelError(f"the pair adapter names {path}, which MiniLM does not have")
        with torch.no_grad():
            target.weight += delta
    return len(updates)


def merge_lora(model: Any, adapter: dict[str, Any], config: dict[str, Any]) -> int:
    """Add ``scale * B @ A`` to each adapted weight of ``model`` (peft's key names);
    return how many weights were changed."""
    return add_updates(model, lora_updates(adapter, config))


class PairClassifier:
    """The merged cross-encoder. Build it with :func:`get_pair_classifier`."""

    def __init__(self, tokenizer: Any, encoder: Any, head: Any, meta: dict, load_seconds: float):
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.head = head
        self.meta = meta
        self.load_seconds = load_seconds
        self.with_question = bool(meta.get("with_question", False))

    def predict(
        self, triples: Sequence[tuple[str | None, str, str]], batch_size: int = BATCH_SIZE
    ) -> np.ndarray:
        """Probabilities of :data:`LABELS` for each (question, reference, answer):
        shape (n, 3), rows sum to 1."""
        import torch

        if not triples:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        pairs = [pair_inputs(q, r, a, self.with_question) for q, r, a in triples]
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = np.empty((len(pairs), len(LABELS)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self.tokenizer(
                    [pairs[i][0] for i in idx], [pairs[i][1] for i in idx],
                    truncation="longest_first", max_length=MAX_LENGTH, padding=True,
                    return_tensors="pt",
                )  # fmt: skip
                hidden = self.encoder(**batch).last_hidden_state  # (B, T, 384)
                logits = self.head(mean_pool(hidden, batch["attention_mask"]))  # (B, 3)
                out[idx] = torch.softmax(logits, dim=-1).numpy()
        return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_pair_classifier(folder: Path = PAIR_DIR, base: Path | None = None) -> PairClassifier:
    """Load MiniLM (checksum checked), merge the adapter from ``folder`` and its head."""
    start = time.perf_counter()
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise ModelError(f"no pair classifier in {folder}: train one with bench/train_pair.py")
    meta = json.loads(meta_path.read_text())
    for name, digest in meta.get("sha256", {}).items():
        if _sha256(folder / name) != digest:
            raise ModelError(f"{folder / name} does not match its sha256 in meta.json")
    base = base or model_dir()
    if base == model_dir():
        verify_model(base)
    try:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise ModelError(
            "torch and transformers are needed: pip install 'alignquiz[embed]'"
        ) from None
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(base), local_files_only=True, dtype=torch.float32)
    config = json.loads((folder / "adapter_config.json").read_text())
    merge_lora(encoder, load_file(str(folder / "adapter_model.safetensors")), config)
    head_state = load_file(str(folder / "head.safetensors"))
    head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0])
    head.load_state_dict(head_state)
    encoder.eval()
    head.eval()
    return PairClassifier(tokenizer, encoder, head, meta, time.perf_counter() - start)


_PAIR: PairClassifier | None = None
_LOCK = threading.Lock()


def get_pair_classifier() -> PairClassifier:
    """The process's one pair classifier, loaded on first use."""
    global _PAIR
    with _LOCK:
        if _PAIR is None:
            _PAIR = load_pair_classifier()
    return _PAIR
