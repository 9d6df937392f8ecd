"""The student CLI's client of the submission server (httpx), with safe retries.

::

    with QuizClient("http://127.0.0.1:8000", token) as client:
        paper = client.quiz()                     # the student view of one's own paper
        result = client.submit({"kl-penalty-token": "0.42"})   # graded, if released
        client.status()["attempts_left"]

A request that fails to connect, or whose answer is lost (a reset connection, a
timeout), is sent again up to ``retries`` times, after ``backoff_s``, doubled each
time; so is one answered 503 (database busy). A submission keeps its client id (the
``Idempotency-Key``) across retries, so the server answers a retry with the stored
result: a retry never makes a second attempt.

Errors (all :class:`~questions.errors.AssessmentError`)::

    ClientError           the server refused: ``status``, ``code`` and ``field`` from its
    │                     JSON error (401 unauthorized, 409 attempts_exhausted, ...)
    └── ServerUnreachable no answer after every retry (nothing may have been stored;
                          retrying with the same client id is safe)

httpx is imported when the first request is made, never at module level.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from grader.errors import GraderError

__all__ = ["ClientError", "QuizClient", "ServerUnreachable", "new_client_id"]

API = "/api/v1"


def new_client_id() -> str:
    """A fresh client id for one attempt (32 hex digits)."""
    return uuid.uuid4().hex


class ClientError(GraderError):
    """The server refused a request; ``status``, ``code`` and ``field`` say how."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "client",
                 field: str | None = None):  # fmt: skip
        self.status, self.code, self.field, self.reason = status, code, field, message
        super().__init__(f"{field}: {message}" if field else message)

    def as_json(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "field"}}``, the server's own shape."""
        return {"error": {"code": self.code, "message": self.reason, "field": self.field}}


class ServerUnreachable(ClientError):
    """No answer from the server after every retry."""


class QuizClient:
    """A student's connection to one server with one token."""

    def __init__(
        self, server: str, token: str, *, timeout_s: float = 60.0, retries: int = 4,
        backoff_s: float = 0.25, transport: Any = None,
    ):  # fmt: skip
        self.server = server
        self.token = token
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.transport = transport
        """An ``httpx`` transport (tests wrap the real one to drop answers)."""

    # ------------------------------------------------------------------ plumbing
    @property
    def http(self):
        if not hasattr(self, "http_"):
            import httpx

            if not self.server.startswith(("http://", "https://")):
                raise ClientError(f"the server must be an http:// or https:// URL, not "
                                  f"{self.server!r}", field="server")  # fmt: skip
            self.http_ = httpx.Client(
                base_url=self.server.rstrip("/") + API, timeout=self.timeout_s,
                headers={"Authorization": f"Bearer {self.token}"}, transport=self.transport,
            )  # fmt: skip
        return self.http_

    def close(self) -> None:
        if hasattr(self, "http_"):
            self.http_.close()

    def __enter__(self) -> QuizClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Send (and resend on a lost answer or a 503); the status and the JSON body."""
        import httpx

        delay, last = self.backoff_s, "no attempt was made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # connect, read, write, timeout, protocol
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if response.status_code == 503 and attempt < self.retries:
                last = "the server was busy (503)"
                continue
            return response.status_code, self._decode(response)
        raise ServerUnreachable(
            f"no answer from {self.server} after {self.retries + 1} tries ({last}); "
            "your answers are safe: run the command again", code="unreachable",
        )  # fmt: skip

    @staticmethod
    def _decode(response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            if body is None:
                raise ClientError(f"the server answered {response.status_code} without JSON",
                                  status=response.status_code, code="bad_response")  # fmt: skip
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            raise ClientError(f"the server answered {response.status_code}",
                              status=response.status_code, code="http_error")  # fmt: skip
        raise ClientError(
            str(error.get("message", "refused")), status=response.status_code,
            code=str(error.get("code", "http_error")), field=error.get("field"),
        )  # fmt: skip

    # ------------------------------------------------------------------ the API
    def quiz(self) -> dict[str, Any]:
        """The token's own paper: ``{"quiz_id", "title", "student_id", "items", "policy"}``."""
        return self._request("GET", "/quiz")[1]

    def status(self) -> dict[str, Any]:
        """Attempts used and left, the deadline, the release, the submissions."""
        return self._request("GET", "/status")[1]

    def submission(self, submission_id: int) -> dict[str, Any]:
        """One of the token's submissions, with feedback once graded and released."""
        return self._request("GET", f"/submissions/{int(submission_id)}")[1]

    def submit(self, answers: Mapping[str, str], client_id: str | None = None) -> dict[str, Any]:
        """Submit ``{item_id: answer}`` once, whatever the retries: every try carries the
        same client id (a fresh one when none is given). The server's
        :class:`~grader.server.SubmissionOut` as a dict."""
        client_id = client_id or new_client_id()
        body = {"client_id": client_id, "answers": dict(answers)}
        return self._request("POST", "/submissions", json=body,
                             headers={"Idempotency-Key": client_id})[1]  # fmt: skip
