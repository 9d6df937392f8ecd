"""The client against the real server under uvicorn on loopback: a retry after a lost
answer replays the stored submission (never a second attempt); a server that is not
there is one clear error; concurrent submissions lose and duplicate nothing."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from grader.client import ClientError, QuizClient, ServerUnreachable
from tests.server.server_helpers import TOKENS, running


class LoseAnswers(httpx.BaseTransport):
    """The real HTTP transport, except that the first ``n`` answers are lost after the
    server has handled the request (a reset connection on the way back)."""

    def __init__(self, n: int):
        self.inner, self.left, self.keys = httpx.HTTPTransport(), n, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.keys.append(request.headers.get("Idempotency-Key"))
        if self.left:
            self.left -= 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_retry_after_a_lost_answer_never_makes_a_second_attempt(live, book, quiz, good_answers):
    transport = LoseAnswers(2)
    client = QuizClient(live, TOKENS["s001"], transport=transport, backoff_s=0.01)
    with client:
        out = client.submit(good_answers(essay=False))
    assert out["replayed"] is True and out["attempt"] == 1 and out["status"] == "graded"
    assert len(transport.keys) == 3 and len(set(transport.keys)) == 1  # one id, three tries
    assert len(book.submissions(quiz.quiz_id, "s001")) == 1


def test_every_answer_lost_is_one_clear_error_and_a_rerun_with_the_id_replays(
    live, book, quiz, good_answers
) -> None:
    answers = good_answers(essay=False)
    with QuizClient(live, TOKENS["s001"], transport=LoseAnswers(10), retries=2,
                    backoff_s=0.01) as client:  # fmt: skip
        with pytest.raises(ServerUnreachable, match="3 tries"):
            client.submit(answers, client_id="lost-1")
    with QuizClient(live, TOKENS["s001"]) as client:
        again = client.submit(answers, client_id="lost-1")
    assert again["replayed"] is True
    assert len(book.submissions(quiz.quiz_id, "s001")) == 1


def test_no_server_is_a_clear_error_after_the_retries() -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with QuizClient(f"http://127.0.0.1:{port}", TOKENS["s001"], retries=2,
                    backoff_s=0.01) as client:  # fmt: skip
        with pytest.raises(ServerUnreachable, match="ConnectError") as caught:
            client.status()
    assert caught.value.code == "unreachable" and time.monotonic() - started < 5


def test_refusals_come_back_as_client_errors_with_code_and_field(live, good_answers) -> None:
    with QuizClient(live, "y" * 40) as stranger:
        with pytest.raises(ClientError) as caught:
            stranger.quiz()
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    with QuizClient(live, TOKENS["s002"]) as client:
        with pytest.raises(ClientError) as caught:
            client.submit({"kl-penalty-token": "two"})
    error = caught.value.as_json()["error"]
    assert (error["code"], error["field"]) == ("format_error", "answers.kl-penalty-token")


def test_concurrent_clients_lose_and_duplicate_nothing(db, quiz, good_answers) -> None:
    """3 students x 4 threads, each thread submitting 5 times and retrying each of its
    submissions once more (a duplicate); plus a storm of one client id from 8 threads."""
    from grader.server import create_app
    from grader.store import Gradebook

    acks: dict[str, set[int]] = {sid: set() for sid in TOKENS}
    lock, errors = threading.Lock(), []

    def student(sid: str, thread: int) -> None:
        with QuizClient(url, TOKENS[sid]) as client:
            for n in range(5):
                cid = f"t{thread}-n{n}"
                first = client.submit(good_answers(sid, essay=False), cid)
                second = client.submit(good_answers(sid, essay=False), cid)
                if first["submission_id"] != second["submission_id"] or not second["replayed"]:
                    errors.append((sid, cid))
                with lock:
                    acks[sid].add(first["submission_id"])

    def storm() -> None:
        with QuizClient(url, TOKENS["s003"]) as client:
            storm_ids.append(client.submit({"clip-min-purpose": "A"}, "storm")["submission_id"])

    storm_ids: list[int] = []
    with running(create_app(db, essays="off")) as url:
        threads = [threading.Thread(target=student, args=(s, t)) for s in TOKENS for t in range(4)]
        threads += [threading.Thread(target=storm) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == [] and len(set(storm_ids)) == 1 and len(storm_ids) == 8
    with Gradebook(db).open() as book:
        for sid in TOKENS:
            stored = book.submissions(quiz.quiz_id, sid)
            ids = {s.id for s in stored}
            expected = acks[sid] | (set(storm_ids) if sid == "s003" else set())
            assert ids == expected  # every acknowledged one is there, nothing else
            assert sorted(s.attempt_no for s in stored) == list(range(1, len(stored) + 1))
            assert len({s.client_id for s in stored}) == len(stored)
        assert book.pending(quiz.quiz_id) == []  # every one was graded on submit
