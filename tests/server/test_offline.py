"""Offline lab: signed submission files, imported by the instructor (verified first, one
altered file imports nothing, a repeated import changes nothing), then graded when read."""

from __future__ import annotations

import json

import pytest

from grader.access import read_tokens_csv
from grader.answer_sheet import (
    TamperedSubmissionError,
    import_signed,
    sign_submission,
    write_atomic,
)
from tests.server.server_helpers import TOKENS, auth


def _file(tmp_path, quiz, sid: str, answers: dict, client_id: str):
    path = tmp_path / f"{sid}-{client_id}.json"
    doc = sign_submission(quiz.quiz_id, sid, client_id, answers, TOKENS[sid],
                          "2026-11-25T10:00:00+00:00")  # fmt: skip
    write_atomic(path, doc)
    return path


def test_signed_files_import_once_and_an_altered_one_imports_nothing(
    api, book, quiz, quiz_dir, tmp_path, good_answers
) -> None:
    tokens = read_tokens_csv(quiz_dir / "private" / "tokens.csv")
    files = [_file(tmp_path, quiz, "s002", good_answers("s002", essay=False), "lab-1"),
             _file(tmp_path, quiz, "s003", {"clip-min-purpose": "A"}, "lab-1")]  # fmt: skip
    first = import_signed(book, files, tokens)
    assert [s.source for s in first] == ["file", "file"]
    assert [s.id for s in import_signed(book, files, tokens)] == [s.id for s in first]
    altered = json.loads(files[1].read_text())
    altered["answers"]["clip-min-purpose"] = "B"
    bad = tmp_path / "altered.json"
    bad.write_text(json.dumps(altered))
    new = _file(tmp_path, quiz, "s001", {"clip-min-purpose": "A"}, "lab-2")
    with pytest.raises(TamperedSubmissionError, match="signature"):
        import_signed(book, [new, bad], tokens)
    assert len(book.submissions(quiz.quiz_id)) == 2  # the good file before it: not stored
    assert book.submissions(quiz.quiz_id, "s001") == []
    read = api.get(f"/api/v1/submissions/{first[0].id}", headers=auth("s002")).json()
    assert read["status"] == "graded"  # graded on this first read
    answered = [i for i in read["items"] if i["answered"]]
    assert len(answered) == len(quiz.item_ids) - 1 and all(i["score"] == 1 for i in answered)
