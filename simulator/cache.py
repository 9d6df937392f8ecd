"""The on-disk cache of the models the simulator trains (the reference LM, the reward model).

Each model lives in ``<cache>/<kind>-<key>/``, where ``<key>`` is a content hash of what
produced it. The cache folder is ``$ALIGNQUIZ_CACHE``, else ``$XDG_CACHE_HOME/alignquiz``,
else ``~/.cache/alignquiz``. A folder is written atomically (a temporary sibling, then a
rename), and one that cannot be read is a one-line :class:`ModelCacheError`.

>>> content_key(["grammar", {"n_layer": 2}, 1]) == content_key(["grammar", {"n_layer": 2}, 1])
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from simulator.errors import ModelCacheError

__all__ = ["cache_dir", "content_key", "read_cached", "write_atomically"]

T = TypeVar("T")


def cache_dir() -> Path:
    """The folder of cached models (not created here)."""
    if os.environ.get("ALIGNQUIZ_CACHE"):
        return Path(os.environ["ALIGNQUIZ_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "alignquiz"


def content_key(parts: object) -> str:
    """A 16-hex-digit blake2b of ``parts`` as canonical JSON."""
    text = json.dumps(parts, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary sibling folder with ``write(folder)``, then rename it to ``path``
    (replacing an older one), so a crash never leaves a half-written model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        write(tmp)
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def read_cached(path: Path, what: str, remake: str, read: Callable[[Path], T]) -> T:
    """``read(path)``, with any unreadable file turned into one line that says how to
    remake the ``what`` (e.g. ``remake="alignquiz sim pretrain --force"``)."""
    from safetensors import SafetensorError

    unreadable = (OSError, ValueError, TypeError, KeyError, RuntimeError, SafetensorError)
    try:
        return read(path)
    except unreadable as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelCacheError(
            f"cached {what} is corrupt ({first_line}); remake it with `{remake}`", path=str(path)
        ) from None
