"""The submission server: FastAPI over the gradebook, grading on submit.

::

    alignquiz serve --db course.db --quiz midterm/ [--host 127.0.0.1 --port 8000]

Every route but ``/api/v1/health`` takes ``Authorization: Bearer TOKEN``; the token
opens one student's paper of one quiz (``grader.access``), never anyone else's and
never a key.

=======  ==========================  ==================================================
GET      /api/v1/quiz                the token's own paper: the student view of its items
GET      /api/v1/status              attempts used and left, the deadline, the release
POST     /api/v1/submissions         submit ``{"client_id", "answers": {item: text}}``
GET      /api/v1/submissions         the token's submissions, oldest first
GET      /api/v1/submissions/{id}    one submission, graded feedback under the release
GET      /api/v1/health              ``{"status": "ok"}`` (no token)
=======  ==========================  ==================================================

A submission's client id comes in the ``Idempotency-Key`` header or as ``client_id``
in the body (both: they must agree). The same id with the same body answers the stored
submission (200, ``replayed: true``); a new one answers 201; the same id with another
body is refused (422). Deadlines and attempt limits are enforced inside the database
(:class:`grader.store.Gradebook`), so a refusal stores nothing. Every answer is parsed
first (:mod:`grader.parse`): a format error is a 422 naming the item and costs no
attempt. Numeric and multiple-choice items are graded at once (:mod:`grader.exact`);
essays with the embedding model, loaded lazily once per process (``essays="auto"``), or
left pending for ``alignquiz grade`` (``essays="off"``, or no model installed).

Every error is JSON ``{"error": {"code", "message", "field"}}``: ``unauthorized``
(401), ``deadline_passed`` (403), ``not_found`` (404), ``attempts_exhausted`` (409),
``body_too_large`` (413), ``invalid_input``, ``format_error`` and
``idempotency_conflict`` (422), ``busy`` (503), ``internal`` (500). Bodies over
``max_body_bytes`` are refused before anything reads them.

Errors raised here, under the project's one base::

    AssessmentError (questions.errors)
    └── GraderError (grader.errors)
        ├── ServerError          the server cannot start (bad option, no gradebook)
        ├── FormatRefused        an answer cannot be read (422 format_error; grader.api)
        └── GradebookError       the store's refusals, mapped to HTTP by ``_CODES``

This module imports pydantic at module level, no more; FastAPI comes in with
:func:`create_app`, the store and SQLAlchemy with the first gradebook opened.
"""

import json
import logging

from grader.api import (
    API,
    ErrorBody,
    ErrorOut,
    FormatRefused,
    PaperOut,
    StatusOut,
    SubmissionBrief,
    SubmissionIn,
    SubmissionOut,
)
from grader.db import (
    AttemptsExhaustedError,
    DatabaseBusyError,
    DeadlinePassedError,
    IdempotencyConflict,
    InvalidInputError,
    NotFoundError,
    UnknownTokenError,
)
from grader.errors import GraderError

__all__ = ["DEFAULT_MAX_BODY", "ServerError", "create_app", "openapi_spec", "write_openapi"]

DEFAULT_MAX_BODY = 512 * 1024
"""Largest request body accepted, in bytes (a 36-item paper of 250-word essays is ~60 KB)."""
log = logging.getLogger("alignquiz.server")


class ServerError(GraderError):
    """The server cannot start: no gradebook, an unknown option, a missing quiz."""


# --------------------------------------------------------------------------- errors
_CODES = (  # (error class, HTTP status, code); the first match wins; else 400 refused
    (UnknownTokenError, 401, "unauthorized"),
    (IdempotencyConflict, 422, "idempotency_conflict"),
    (InvalidInputError, 422, "invalid_input"),
    (DeadlinePassedError, 403, "deadline_passed"),
    (AttemptsExhaustedError, 409, "attempts_exhausted"),
    (NotFoundError, 404, "not_found"),
    (DatabaseBusyError, 503, "busy"),
)


def _error_json(status: int, code: str, message: str, field: str | None = None, headers=None):
    from fastapi.responses import JSONResponse

    body = ErrorOut(error=ErrorBody(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _status_of(exc: Exception) -> tuple[int, str]:
    for cls, status, code in _CODES:
        if isinstance(exc, cls):
            return status, code
    return 400, "refused"


def _message(exc: Exception) -> tuple[str, str | None]:
    field = getattr(exc, "field", None)
    message = getattr(exc, "message", str(exc))
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2 :]
    return message, field


class _BodyLimit:
    """ASGI middleware: buffer the body up to ``limit`` bytes, answer 413 past it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await self._refuse(scope, receive, send, declared)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await self._refuse(scope, receive, send, None)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send, declared: bytes | None):
        if declared is not None and not declared.isdigit():
            response = _error_json(400, "invalid_input", "Content-Length is not a number",
                                   "content-length")  # fmt: skip
        else:
            message = f"the request body is over {self.limit} bytes"
            response = _error_json(413, "body_too_large", message, "body")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


# --------------------------------------------------------------------------- the app
def create_app(
    db: str, *, quiz_dir: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
    essays: str = "auto",
):  # fmt: skip
    """The FastAPI app over the gradebook ``db`` (a SQLite file or a PostgreSQL URL).

    With ``quiz_dir`` the gradebook is created if needed and the quiz (with the hashes
    of ``DIR/private/tokens.csv``, if present) imported, idempotently; without it the
    gradebook must exist. ``essays``: ``auto`` grades essays on submit when the
    embedding model is installed, ``off`` leaves them pending for ``alignquiz grade``.
    """
    from grader.submissions import open_service

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ServerError(f"the server needs FastAPI and uvicorn ({exc.name} is missing): "
                          "pip install fastapi uvicorn") from None  # fmt: skip
    if essays not in ("auto", "off"):
        raise ServerError(f"essays must be auto or off, not {essays!r}")
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1024:
        raise ServerError("max_body_bytes must be an integer of at least 1024")
    return _make_app(open_service(db, quiz_dir, essays), max_body_bytes)


def openapi_spec() -> dict:
    """The OpenAPI document of the API (no gradebook needed)."""
    return _make_app(None, DEFAULT_MAX_BODY).openapi()


def _make_app(service, max_body_bytes: int):
    from contextlib import asynccontextmanager
    from typing import Annotated

    from fastapi import Depends, FastAPI, Header, Request, Response
    from fastapi.exceptions import RequestValidationError
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from starlette.exceptions import HTTPException

    from questions.errors import AssessmentError

    @asynccontextmanager
    async def lifespan(_app):
        yield
        if service is not None:
            service.close()

    errors = {s: {"model": ErrorOut} for s in (401, 403, 404, 409, 413, 422, 503)}
    app = FastAPI(
        title="alignquiz submission server",
        version="1",
        lifespan=lifespan,
        responses=errors,
        description="Students fetch their own paper, submit answers (graded on submit) and "
        "read feedback under the quiz's release policy.",
    )
    app.add_middleware(_BodyLimit, limit=max_body_bytes)
    bearer = HTTPBearer(auto_error=False, description="The student's access token.")

    @app.exception_handler(FormatRefused)
    async def _format(_request: Request, exc: FormatRefused):
        return _error_json(422, "format_error", exc.message, exc.field)

    @app.exception_handler(AssessmentError)
    async def _refused(_request: Request, exc: AssessmentError):
        status, code = _status_of(exc)
        message, field = _message(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return _error_json(status, code, message, field, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        if first.get("type") == "json_invalid":
            return _error_json(422, "invalid_input", "the body is not valid JSON", "body")
        field = ".".join(loc) or "body"
        return _error_json(422, "invalid_input", str(first.get("msg")), field)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error_json(exc.status_code, codes.get(exc.status_code, "http_error"),
                           str(exc.detail), None, getattr(exc, "headers", None))  # fmt: skip

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception):
        log.exception("unexpected error")
        return _error_json(500, "internal", "internal server error; nothing more is known")

    def token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        from grader.db import UnknownTokenError

        if credentials is None or credentials.scheme.lower() != "bearer":
            raise UnknownTokenError("give the access token as 'Authorization: Bearer TOKEN'")
        return credentials.credentials

    Token = Annotated[str, Depends(token)]

    @app.get(f"{API}/health", tags=["server"])
    def health() -> dict[str, str]:
        """Liveness: ``{"status": "ok"}``."""
        return {"status": "ok"}

    @app.get(f"{API}/quiz", tags=["student"])
    def get_quiz(tok: Token) -> PaperOut:
        """The token's own paper: the student view of every item (never a key)."""
        return service.paper(tok)

    @app.get(f"{API}/status", tags=["student"])
    def get_status(tok: Token) -> StatusOut:
        """Attempts used and left, the deadline and the feedback release."""
        return service.status(tok)

    @app.post(f"{API}/submissions", status_code=201, tags=["student"],
              responses={200: {"model": SubmissionOut,
                               "description": "A replay: the stored submission"}})  # fmt: skip
    def post_submission(
        body: SubmissionIn,
        response: Response,
        tok: Token,
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> SubmissionOut:
        """Store an attempt and grade it. Same client id and body: the stored result
        (200); same client id, another body: 422; a malformed answer: 422, no attempt."""
        from grader.db import InvalidInputError

        if idempotency_key and body.client_id and idempotency_key != body.client_id:
            raise InvalidInputError("differs from the Idempotency-Key header", field="client_id")
        client_id = idempotency_key or body.client_id
        if not client_id:
            raise InvalidInputError("give an Idempotency-Key header or a client_id",
                                    field="client_id")  # fmt: skip
        out = service.submit(tok, client_id, body.answers)
        if out.replayed:
            response.status_code = 200
        return out

    @app.get(f"{API}/submissions", tags=["student"])
    def list_submissions(tok: Token) -> list[SubmissionBrief]:
        """The token's submissions, oldest first."""
        return service.status(tok).submissions

    @app.get(f"{API}/submissions/{{submission_id}}", tags=["student"])
    def get_submission(submission_id: int, tok: Token) -> SubmissionOut:
        """One of the token's submissions, with feedback once graded and released."""
        return service.submission(tok, submission_id)

    return app


def write_openapi(path: str) -> None:
    """Write :func:`openapi_spec` as indented JSON to ``path`` (``-``: stdout)."""
    text = json.dumps(openapi_spec(), indent=1, sort_keys=True) + "\n"
    if path == "-":
        print(text, end="")
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
