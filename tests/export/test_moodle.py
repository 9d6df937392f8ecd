"""Moodle XML for the whole built-in bank: structure, scoring, privacy, formulas."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from questions.export.rules import MOODLE_GRADES
from questions.models import EssayItem, MultipleChoiceItem, NumericItem
from tests.export.helpers import private_snippets, subsets
from tests.export.lms_rules import moodle_choice_score, moodle_formula_errors

COMMON = ["name/text", "questiontext/text", "generalfeedback/text", "defaultgrade", "penalty",
          "hidden", "idnumber"]  # fmt: skip
REQUIRED = {
    "multichoice": ["single", "shuffleanswers", "answernumbering", "answer/text",
                    "answer/feedback/text", "correctfeedback/text"],
    "numerical": ["answer/text", "answer/tolerance", "answer/feedback/text"],
    "calculated": ["synchronize", "answer/text", "answer/tolerance", "answer/tolerancetype",
                   "answer/correctanswerformat", "answer/correctanswerlength",
                   "dataset_definitions/dataset_definition"],
    "essay": ["responseformat", "responsefieldlines", "graderinfo/text", "responsetemplate"],
}  # fmt: skip
WILDCARD = re.compile(r"\{([A-Za-z][^>} <{\"']*)\}")  # Moodle's placeholder pattern


@pytest.fixture(scope="module")
def root(bank_exports):
    return etree.fromstring(bank_exports["moodle"][0])


def _questions(root):
    return [q for q in root.iter("question") if q.get("type") != "category"]


def test_root_and_every_question_has_its_required_children(root):
    assert root.tag == "quiz"
    assert root[0].get("type") == "category", "the first question sets the category"
    for q in _questions(root):
        for path in COMMON + REQUIRED[q.get("type")]:
            assert q.find(path) is not None, f"{q.findtext('name/text')}: no {path}"
        assert float(q.findtext("defaultgrade")) > 0


def test_every_bank_item_is_exported_once_or_as_its_drawn_variants(root, bank_quiz):
    names = [q.findtext("name/text") for q in _questions(root)]
    for item_id in bank_quiz.item_ids:
        spec = bank_quiz.items[item_id]
        count = sum(n == spec.title or n.startswith(f"{spec.title} (variant ") for n in names)
        drawn = {repr(v.params) for vs in bank_quiz.variants.values() for v in vs
                 if v.item_id == item_id}  # fmt: skip
        assert count in (1, len(drawn)), f"{item_id}: {count} questions"
        if isinstance(spec, NumericItem) or not spec.params:
            assert count >= 1


def test_fractions_are_moodle_grades(root):
    for a in root.iter("answer"):
        assert any(abs(abs(float(a.get("fraction"))) - g) < 1e-9 for g in MOODLE_GRADES)


def test_multiple_choice_scores_as_choice_score_for_every_selection(root, bank_quiz):
    by_title = {q.findtext("name/text"): q for q in _questions(root)}
    checked = 0
    for spec in bank_quiz.items.values():
        if not isinstance(spec, MultipleChoiceItem):
            continue
        q = by_title[spec.title]
        fractions = [float(a.get("fraction")) for a in q.findall("answer")]
        assert len(fractions) == len(spec.options)
        assert (q.findtext("single") == "true") is (not spec.multiple)
        variant = bank_quiz.variants[bank_quiz.students[0].student_id][
            bank_quiz.item_ids.index(spec.id)
        ]
        label = {o.source_index: o.label for o in variant.options}
        frac = {label[i]: f for i, f in enumerate(fractions)}
        for chosen in subsets(sorted(frac)):
            if not spec.multiple and len(chosen) > 1:
                continue
            moodle = moodle_choice_score(frac, chosen, single=not spec.multiple)
            assert moodle == pytest.approx(variant.choice_score(chosen), abs=1e-6), (
                f"{spec.id}: {sorted(chosen)}"
            )
            checked += 1
    assert checked > 50


def test_calculated_formulas_and_wildcards_are_moodle_legal(root):
    calculated = [q for q in _questions(root) if q.get("type") == "calculated"]
    assert calculated, "the bank has numeric items with formulas"
    for q in calculated:
        datasets = {d.findtext("name/text") for d in q.iter("dataset_definition")}
        for d in q.iter("dataset_definition"):
            n = len(d.findall("dataset_items/dataset_item"))
            assert n == int(d.findtext("itemcount")) == int(d.findtext("number_of_items")) > 0
            assert d.findtext("status/text") == "private"
        for a in q.findall("answer"):
            assert moodle_formula_errors(a.findtext("text")) is None
            assert set(WILDCARD.findall(a.findtext("text"))) <= datasets
            assert a.findtext("tolerancetype") in ("1", "2")
        # every {word} in the text is a dataset: TeX braces such as \mathrm{target} are
        # written { target}, which Moodle's pattern does not match
        assert set(WILDCARD.findall(q.findtext("questiontext/text"))) <= datasets


def test_private_texts_only_in_graderinfo(root, bank_quiz):
    by_title = {q.findtext("name/text"): q for q in _questions(root)}
    snippets = private_snippets(bank_quiz)
    essays = 0
    for item_id, phrases in snippets.items():
        spec = bank_quiz.items[item_id]
        questions = [q for t, q in by_title.items() if t == spec.title or
                     t.startswith(f"{spec.title} (variant ")]  # fmt: skip
        for q in questions:
            visible = " ".join(q.xpath(".//text()[not(ancestor::graderinfo)]"))
            for phrase in phrases:
                assert phrase not in visible, f"{item_id}: private text shown: {phrase!r}"
            if isinstance(spec, EssayItem):
                info = q.findtext("graderinfo/text")
                assert all(r.split()[0] in info for r in spec.references)
                essays += 1
    assert essays == sum(isinstance(s, EssayItem) for s in bank_quiz.items.values())


def test_items_without_a_formula_fall_back_to_a_category(root, bank_exports, bank_quiz):
    from questions.export.errors import Unexpressible
    from questions.export.formula import to_moodle

    notes = bank_exports["moodle"][1]
    for spec in bank_quiz.items.values():
        if not isinstance(spec, NumericItem):
            continue
        try:
            to_moodle(spec.answer.expr)
            kind = "calculated"
        except Unexpressible:
            kind = "numerical"
            assert any(n.startswith(f"{spec.id}: no Moodle formula") for n in notes)
        types = {q.get("type") for q in _questions(root)
                 if q.findtext("name/text").startswith(spec.title)}  # fmt: skip
        assert types == {kind}, spec.id
