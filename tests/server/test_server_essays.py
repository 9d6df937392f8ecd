"""Essays graded on submit by the real embedding model (loaded once per process), and
left pending, with a clear status, when essays are off; ``alignquiz grade``'s job then."""

from __future__ import annotations

from fastapi.testclient import TestClient

from grader.server import create_app
from tests.server.server_helpers import auth, key_fields

GOOD = (
    "Goodhart's law: the learned reward model is only a proxy for human preferences. "
    "Optimising it too hard, the policy drifts away from the reference model into text "
    "unlike the reward model's training data, where its errors are exploitable, so the "
    "proxy reward keeps rising while the true reward peaks and then falls. A KL penalty "
    "and early stopping on held-out human evaluation limit the damage."
)


def test_an_essay_is_graded_on_submit_with_the_real_model(db, book, quiz) -> None:
    with TestClient(create_app(db, essays="auto")) as api:
        out = api.post("/api/v1/submissions", headers={**auth(), "Idempotency-Key": "e-1"},
                       json={"answers": {"goodhart-essay": GOOD}}).json()  # fmt: skip
        pizza = {"answers": {"goodhart-essay": "I like pizza a lot."}}
        weak = api.post("/api/v1/submissions", headers={**auth("s002"), "Idempotency-Key": "e"},
                        json=pizza).json()  # fmt: skip
    essay = next(i for i in out["items"] if i["item_id"] == "goodhart-essay")
    assert out["status"] == "graded" and essay["status"] == "graded"
    assert essay["score"] > 0.6 and essay["feedback"]
    low = next(i for i in weak["items"] if i["item_id"] == "goodhart-essay")
    assert low["score"] < essay["score"] - 0.3
    assert key_fields(out) == []
    history = book.grade_history(out["submission_id"], "goodhart-essay")
    assert [g.grader for g in history] == ["essay"] and book.pending(quiz.quiz_id) == []
