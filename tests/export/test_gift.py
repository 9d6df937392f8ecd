"""GIFT for the whole built-in bank: structure, escaping, fractions, privacy."""

from __future__ import annotations

import re

import pytest

from questions.export.gift import escape
from questions.export.text import exhibit_html, to_html
from questions.models import EssayItem, MultipleChoiceItem
from tests.export.helpers import private_snippets, subsets
from tests.export.lms_rules import gift_unescape, moodle_choice_score

QUESTION = re.compile(r"^::((?:[^:\\]|\\.)*)::\[html\]((?:[^{\\\n]|\\.)*)\{(#?)\n(.*?)^\}$",
                      re.M | re.S)  # fmt: skip


@pytest.fixture(scope="module")
def text(bank_exports):
    return bank_exports["gift"][0].decode("utf-8")


@pytest.fixture(scope="module")
def questions(text):
    found = QUESTION.findall(text)
    return [(gift_unescape(name), raw, hashmark, body) for name, raw, hashmark, body in found]


def test_every_block_is_a_question_or_a_category(text, questions):
    blocks = [b for b in text.split("\n\n") if b.strip() and not b.startswith("//")]
    assert len(blocks) == len(questions) + text.count("\n$CATEGORY: ")
    assert all(b.startswith(("$CATEGORY: ", "::")) for b in blocks)
    assert not re.search(r"\n\s*\n\s*\n", text), "a blank line would end a question early"


def test_every_item_is_there_with_its_kind(questions, bank_quiz):
    for spec in bank_quiz.items.values():
        mine = [q for q in questions if q[0] == spec.title or
                q[0].startswith(f"{spec.title} (variant ")]  # fmt: skip
        assert mine, spec.id
        for _, _, hashmark, body in mine:
            assert (hashmark == "#") is (spec.kind == "numeric")
            assert (body.strip() == "") is isinstance(spec, EssayItem)


def test_text_survives_moodles_unescaping(questions, bank_quiz):
    first = bank_quiz.variants[bank_quiz.students[0].student_id]
    by_title = {q[0]: q[1] for q in questions}
    for v in first:
        if v.title in by_title:  # items without parameters: one question, this text
            shown = to_html(v.prompt).strip() + exhibit_html(v.exhibit, None)
            assert gift_unescape(by_title[v.title]) == shown


def test_escape_round_trip_of_every_special():
    text = r"a~b=c#d{e}f:g \ne \\ h" + "\nnext"
    assert gift_unescape(escape(text)) == text


def test_multiple_choice_fractions_score_as_choice_score(questions, bank_quiz):
    by_title = {q[0]: q[3] for q in questions}
    for spec in bank_quiz.items.values():
        if not isinstance(spec, MultipleChoiceItem):
            continue
        lines = [ln for ln in by_title[spec.title].splitlines() if ln.startswith("\t")]
        assert len(lines) == len(spec.options)
        variant = bank_quiz.variants[bank_quiz.students[0].student_id][
            bank_quiz.item_ids.index(spec.id)
        ]
        label = {o.source_index: o.label for o in variant.options}
        frac = {}
        for i, line in enumerate(lines):
            m = re.match(r"\t([=~])(?:%(-?[\d.]+)%)?", line)
            frac[label[i]] = float(m.group(2)) if m.group(2) else (100.0 if m[1] == "=" else 0)
        for chosen in subsets(sorted(frac)):
            if spec.multiple or len(chosen) == 1:
                score = moodle_choice_score(frac, chosen, single=not spec.multiple)
                assert score == pytest.approx(variant.choice_score(chosen), abs=1e-6)


def test_no_private_text(questions, bank_quiz):
    for item_id, phrases in private_snippets(bank_quiz).items():
        title = bank_quiz.items[item_id].title
        shown = " ".join(gift_unescape(raw + body) for name, raw, _, body in questions
                         if name == title or name.startswith(f"{title} (variant "))  # fmt: skip
        assert shown
        for phrase in phrases:
            assert phrase not in shown, f"{item_id}: {phrase!r}"
