"""Student access tokens: secret, unguessable, and reproducible for one instructor.

A token is ``HMAC-SHA256(course secret, quiz_id : student_id)``, base64url. The course
secret is 32 random bytes made on first use in the user's config folder
(``$XDG_CONFIG_HOME/alignquiz/secret``, mode 0600; ``ALIGNQUIZ_SECRET_FILE`` overrides),
so regenerating the same quiz gives the same tokens (and byte-identical files), while
nobody without the secret can compute a token from the public quiz id and roster.
Only ``DIR/private/tokens.csv`` holds tokens; the gradebook stores only their hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from questions.errors import QuizError

__all__ = ["SECRET_ENV", "course_secret", "secret_path", "student_token"]

SECRET_ENV = "ALIGNQUIZ_SECRET_FILE"


def secret_path() -> Path:
    """Where the course secret lives."""
    if os.environ.get(SECRET_ENV):
        return Path(os.environ[SECRET_ENV])
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "alignquiz" / "secret"


def course_secret() -> bytes:
    """The course secret, made (32 random bytes, mode 0600) on first use."""
    path = secret_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return course_secret()
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise QuizError(f"cannot read the course secret: {exc}", path=str(path)) from None
    if len(data) < 16:
        raise QuizError("the course secret is shorter than 16 bytes", path=str(path))
    return data


def student_token(secret: bytes, quiz_id: str, student_id: str) -> str:
    """The token of one student for one quiz (32 URL-safe characters).

    >>> student_token(b"k" * 32, "q1", "s001") == student_token(b"k" * 32, "q1", "s002")
    False
    """
    mac = hmac.new(secret, f"{quiz_id}:{student_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()
