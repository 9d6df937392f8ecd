"""The submission API in-process (the real app over a real SQLite file): the student's
own paper and nothing of the key, idempotent submit, attempts, deadlines, release,
format errors that cost nothing, size limits, tokens, JSON errors, the OpenAPI spec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.server.server_helpers import TOKENS, auth, key_fields

POST = "/api/v1/submissions"


def _post(api, answers, client_id="c-1", student="s001", header=True):
    headers = {**auth(student), **({"Idempotency-Key": client_id} if header else {})}
    body = {"answers": answers} if header else {"client_id": client_id, "answers": answers}
    return api.post(POST, headers=headers, json=body)


def _error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code, body
    assert body["error"]["field"] == field, body
    assert body["error"]["message"]
    return body["error"]


def test_the_paper_is_the_tokens_own_and_holds_no_key(api, quiz) -> None:
    for sid in TOKENS:
        paper = api.get("/api/v1/quiz", headers=auth(sid)).json()
        assert paper["student_id"] == sid and paper["quiz_id"] == quiz.quiz_id
        mine = quiz.variants[sid]
        assert [i["item_id"] for i in paper["items"]] == [v.item_id for v in mine]
        assert [i["prompt"] for i in paper["items"]] == [v.prompt for v in mine]
        assert key_fields(paper) == []
        text = json.dumps(paper)
        for v in mine:
            assert not v.explanation or v.explanation not in text
    essay = next(i for i in paper["items"] if i["kind"] == "essay")
    assert essay["max_words"] == quiz.items[essay["item_id"]].max_words


def test_submit_grades_at_once_and_a_replay_returns_the_stored_result(
    api, book, quiz, good_answers
) -> None:
    answers = good_answers(essay=False)
    first = _post(api, answers)
    assert first.status_code == 201, first.text
    out = first.json()
    assert out["replayed"] is False and out["attempt"] == 1
    by_item = {i["item_id"]: i for i in out["items"]}
    for item_id in answers:
        assert by_item[item_id]["status"] == "graded" and by_item[item_id]["score"] == 1.0
    essay = next(i for i in out["items"] if not i["answered"])
    assert essay["status"] == "graded" and essay["points"] == 0  # unanswered: 0 at once
    assert out["status"] == "graded"
    assert out["score"] == sum(v.points for v in quiz.variants["s001"] if v.kind != "essay")
    assert out["max"] == sum(v.points for v in quiz.variants["s001"])
    again = _post(api, answers)  # a retry after a lost answer
    assert again.status_code == 200 and again.json() == {**out, "replayed": True}
    assert len(book.submissions(quiz.quiz_id, "s001")) == 1
    assert len(book.grade_history(out["submission_id"])) == len(quiz.item_ids)  # graded once
    read = api.get(f"{POST}/{out['submission_id']}", headers=auth()).json()
    assert read == {**out, "replayed": False}
    assert key_fields(out) == [] and key_fields(read) == []


def test_same_client_id_with_another_body_is_refused(api, book, quiz, good_answers) -> None:
    answers = good_answers(essay=False)
    assert _post(api, answers).status_code == 201
    changed = {**answers, "kl-penalty-token": "123"}
    _error(_post(api, changed), 422, "idempotency_conflict", "client_id")
    _error(api.post(POST, headers={**auth(), "Idempotency-Key": "a"},
                    json={"client_id": "b", "answers": answers}),
           422, "invalid_input", "client_id")  # fmt: skip
    _error(_post(api, answers, client_id=None, header=False), 422, "invalid_input", "client_id")
    body_id = _post(api, changed, client_id="c-2", header=False)  # the id in the body
    assert body_id.status_code == 201 and body_id.json()["attempt"] == 2
    assert len(book.submissions(quiz.quiz_id, "s001")) == 2


@pytest.mark.parametrize(
    ("answers", "field", "code"),
    [
        ({"kl-penalty-token": "about one point two"}, "answers.kl-penalty-token", "format_error"),
        ({"kl-penalty-token": "nan"}, "answers.kl-penalty-token", "format_error"),
        ({"clip-min-purpose": "Z"}, "answers.clip-min-purpose", "format_error"),
        ({"clip-min-purpose": "A, B"}, "answers.clip-min-purpose", "format_error"),
        ({"goodhart-essay": "   "}, "answers.goodhart-essay", "format_error"),
        ({"goodhart-essay": "word " * 400}, "answers.goodhart-essay", "format_error"),
        ({"not-an-item": "1"}, "answers.not-an-item", "invalid_input"),
        ({"kl-penalty-token": 1.2}, "answers.kl-penalty-token", "invalid_input"),
        ({}, "answers", "invalid_input"),
    ],
)
def test_malformed_answers_are_named_and_cost_no_attempt(
    api, book, quiz, answers, field, code
) -> None:
    _error(_post(api, answers), 422, code, field)
    assert book.submissions(quiz.quiz_id) == []
    status = api.get("/api/v1/status", headers=auth()).json()
    assert status["attempts_used"] == 0


def test_malformed_bodies_are_refused_by_field_and_the_server_goes_on(api, book, quiz) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    _error(api.post(POST, headers=headers, content=b"{not json"), 422, "invalid_input", "body")
    _error(api.post(POST, headers=headers, content=b"[1, 2]"), 422, "invalid_input", "body")
    _error(api.post(POST, headers=headers, content=b'{"answers": {}, "extra": 1}'),
           422, "invalid_input", "extra")  # fmt: skip
    _error(api.post(POST, headers={**headers, "Idempotency-Key": "bad id!"},
                    content=b'{"answers": {"clip-min-purpose": "A"}}'),
           422, "invalid_input", "client_id")  # fmt: skip
    _error(api.get(f"{POST}/abc", headers=auth()), 422, "invalid_input", "path.submission_id")
    _error(api.get("/api/v1/nothing", headers=auth()), 404, "not_found")
    _error(api.delete(POST, headers=auth()), 405, "method_not_allowed")
    assert book.submissions(quiz.quiz_id) == []
    assert api.get("/api/v1/health").json() == {"status": "ok"}


def test_oversized_bodies_are_refused_before_they_are_read(db, book, quiz) -> None:
    from fastapi.testclient import TestClient

    from grader.server import create_app

    with TestClient(create_app(db, essays="off", max_body_bytes=4096)) as small:
        big = json.dumps({"answers": {"goodhart-essay": "x" * 5000}})
        _error(small.post(POST, headers={**auth(), "Idempotency-Key": "c"}, content=big),
               413, "body_too_large", "body")  # fmt: skip

        def chunks():  # no Content-Length: counted as it streams
            yield b'{"answers": {"goodhart-essay": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}}'

        streamed = small.post(POST, headers={**auth(), "Idempotency-Key": "d"}, content=chunks())
        _error(streamed, 413, "body_too_large", "body")
        assert small.get("/api/v1/status", headers=auth()).status_code == 200  # still serving
    assert book.submissions(quiz.quiz_id) == []


def test_bad_or_revoked_tokens_get_401_and_store_nothing(api, book, quiz, good_answers) -> None:
    answers = good_answers(essay=False)
    for headers in ({}, {"Authorization": "Bearer " + "z" * 40}, {"Authorization": "Bearer x"},
                    {"Authorization": "Basic " + TOKENS["s001"]}):  # fmt: skip
        for response in (api.get("/api/v1/quiz", headers=headers),
                         api.post(POST, headers={**headers, "Idempotency-Key": "c"},
                                  json={"answers": answers})):  # fmt: skip
            error = _error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert TOKENS["s001"] not in error["message"]
    book.revoke_token(TOKENS["s001"])
    _error(_post(api, answers), 401, "unauthorized")
    assert book.submissions(quiz.quiz_id) == []


def test_a_student_reads_only_their_own_submissions(api, good_answers) -> None:
    mine = _post(api, good_answers(essay=False)).json()["submission_id"]
    _error(api.get(f"{POST}/{mine}", headers=auth("s002")), 404, "not_found")
    assert api.get(f"{POST}", headers=auth("s002")).json() == []
    assert [s["submission_id"] for s in api.get(POST, headers=auth()).json()] == [mine]


def test_attempt_limit_is_enforced_and_refusals_store_nothing(api, book, quiz, good_answers):
    book.set_policy(quiz.quiz_id, max_attempts=2)
    answers = good_answers(essay=False)
    assert _post(api, answers, "a1").status_code == 201
    assert _post(api, {**answers, "clip-min-purpose": "B"}, "a2").status_code == 201
    assert _post(api, answers, "a1").status_code == 200  # a replay is never an attempt
    _error(_post(api, answers, "a3"), 409, "attempts_exhausted")
    status = api.get("/api/v1/status", headers=auth()).json()
    assert (status["attempts_used"], status["attempts_left"], status["open"]) == (2, 0, False)
    assert len(book.submissions(quiz.quiz_id, "s001")) == 2
    assert _post(api, answers, "a1", student="s002").status_code == 201  # per student


def test_deadline_is_enforced(api, book, quiz, good_answers) -> None:
    book.set_policy(quiz.quiz_id, deadline=datetime.now(UTC) - timedelta(seconds=1))
    _error(_post(api, good_answers(essay=False)), 403, "deadline_passed")
    status = api.get("/api/v1/status", headers=auth()).json()
    assert status["open"] is False and status["deadline"] is not None
    assert book.submissions(quiz.quiz_id) == []


def test_feedback_after_the_deadline_is_held_until_then(api, book, quiz, good_answers) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    book.set_policy(quiz.quiz_id, deadline=soon, release="after_deadline")
    out = _post(api, good_answers(essay=False)).json()
    assert (out["status"], out["score"], out["released"]) == ("held", None, False)
    assert all(i["status"] == "held" and i["feedback"] is None for i in out["items"])
    book.set_policy(quiz.quiz_id, deadline=datetime.now(UTC) - timedelta(seconds=1),
                    release="after_deadline")  # fmt: skip
    later = api.get(f"{POST}/{out['submission_id']}", headers=auth()).json()
    assert later["status"] == "graded" and later["score"] > 0 and later["released"] is True


def test_an_essay_stays_pending_when_essays_are_off(api, good_answers) -> None:
    out = _post(api, good_answers()).json()
    essay = next(i for i in out["items"] if i["item_id"] == "goodhart-essay")
    assert essay["status"] == "pending" and essay["answered"] is True
    assert out["status"] == "pending" and out["score"] is None


def test_a_submission_stored_but_not_graded_is_graded_when_read(api, book, quiz) -> None:
    """A server killed between storing and grading: the next read grades it."""
    sub = book.submit_as(TOKENS["s001"], "crash-1", {"clip-min-purpose": "A"})
    assert book.grade_history(sub.id) == []
    out = api.get(f"{POST}/{sub.id}", headers=auth()).json()
    assert out["status"] == "graded"  # every item, answered or not
    assert [i["status"] for i in out["items"]] == ["graded"] * len(quiz.item_ids)
    assert len(book.grade_history(sub.id)) == len(quiz.item_ids)


def test_openapi_spec_is_json_with_every_endpoint(tmp_path) -> None:
    from grader.server import write_openapi

    path = tmp_path / "openapi.json"
    write_openapi(str(path))
    spec = json.loads(path.read_text())
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/v1/health", "/api/v1/quiz", "/api/v1/status", "/api/v1/submissions",
        "/api/v1/submissions/{submission_id}",
    }  # fmt: skip
    post = spec["paths"]["/api/v1/submissions"]["post"]
    assert {"200", "201", "401", "409", "413", "422"} <= set(post["responses"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert any(p["name"] == "idempotency-key" for p in post["parameters"])
    assert key_fields(spec["components"]["schemas"]["PaperItem"]["properties"]) == []


def test_an_lms_imported_submission_is_never_graded_on_our_variant(api, book, quiz) -> None:
    """Graded at import on the variant the LMS showed; the student's own variant has
    other numbers, so the server leaves any item without a grade as it is."""
    sub = book.submit("s001", quiz.quiz_id, "canvas-1", {"clip-min-purpose": "A"},
                      source="canvas")  # fmt: skip
    out = api.get(f"{POST}/{sub.id}", headers=auth()).json()
    assert out["status"] == "pending"
    assert {i["status"] for i in out["items"]} == {"pending"}
    assert book.grade_history(sub.id) == []


def test_items_graded_meanwhile_by_another_process_keep_their_one_grade(db, book, quiz):
    """``alignquiz grade`` writes between the server's look at a submission's grades
    and its own write: the server adds no second version and shows the first."""
    from grader.result import GradeResult
    from grader.submissions import open_service

    service = open_service(db, None, "off")
    sub = book.submit_as(TOKENS["s001"], "race-1", {"clip-min-purpose": "A"})
    paper = quiz.variants["s001"]
    real = service.book.grade_history

    def looked_then_graded_elsewhere(sub_id, item_id=None):
        seen = real(sub_id, item_id)
        service.book.grade_history = real
        half = {v.item_id: GradeResult.of(0.5, points=v.points) for v in paper}
        book.record_grades(sub_id, half, grader="exact", grader_version="cli")
        return seen

    service.book.grade_history = looked_then_graded_elsewhere
    try:
        out = service.submission(TOKENS["s001"], sub.id)
    finally:
        service.close()
    history = book.grade_history(sub.id)
    assert [(g.version, g.grader_version) for g in history] == [(1, "cli")] * len(paper)
    assert out.status == "graded"
    assert out.score == pytest.approx(0.5 * sum(v.points for v in paper))
