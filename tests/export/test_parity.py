"""Tolerance parity: every numeric item, many seeds, every format.

For each variant an export carries, a response just inside and just outside the
tolerance must be accepted and refused by the LMS's documented rule (``lms_rules``,
applied to what the file says) exactly as ``NumericAnswer.accepts`` decides, and the key
as displayed must be accepted by both. Every distinct variant the roster drew must be
carried, once. Besides the built-in bank (which has an item graded to significant
figures), a small bank of significant-figure items whose keys span decades, cross zero
or mix the relative and significant-figure terms drives the exporters' fallbacks.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter, defaultdict

import pytest
from lxml import etree

from questions.export import export
from questions.models import NumericAnswer
from questions.variants import Quiz, Variant
from tests.export.conftest import CREATED
from tests.export.lms_rules import (
    canvas_calculated_accepts,
    canvas_evaluate,
    canvas_range_accepts,
    gift_unescape,
    moodle_accepts,
    moodle_evaluate,
    probes,
    qti_equal_absolute,
)

QTI12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
QTI21 = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"


def _variants(quiz: Quiz) -> dict[str, list[Variant]]:
    """Per item title, every variant of the quiz."""
    by_title: dict[str, list[Variant]] = defaultdict(list)
    for student in quiz.students:
        for v in quiz.variants[student.student_id]:
            by_title[v.title].append(v)
    return by_title


def _by_display(variants: list[Variant], names: list[str], values: list[str]) -> Variant:
    for v in variants:
        if [v.display[n] for n in names] == values:
            return v
    raise AssertionError(f"no variant shows {dict(zip(names, values, strict=True))}")


def _by_value(variants: list[Variant], value: float) -> Variant:
    for v in variants:
        if v.answer is not None and v.answer.value == value:
            return v
    raise AssertionError(f"no variant has the key {value!r}")


def _check(answer: NumericAnswer, decide, where: str) -> None:
    shown = float(answer.display())
    for x, inside in [*probes(answer.value, answer.margin), (shown, True)]:
        assert answer.accepts(x) is inside, f"{where}: probe {x!r} misjudged by our grader"
        assert decide(x) is inside, f"{where}: LMS {'refuses' if inside else 'accepts'} {x!r}"


def _title(name: str) -> str:
    return re.sub(r" \((?:variant )?\d+ of \d+\)$", "", name)


def _moodle(quiz: Quiz, data: bytes) -> Counter:
    variants, seen = _variants(quiz), Counter()
    for q in etree.fromstring(data).iter("question"):
        kind, title = q.get("type"), _title(q.findtext("name/text") or "")
        if kind == "calculated":
            datasets = {
                d.findtext("name/text"): [i.findtext("value") for i in d.iter("dataset_item")]
                for d in q.iter("dataset_definition")
            }
            names = sorted(datasets)
            answers = [
                (float(a.get("fraction")), a.findtext("text"), float(a.findtext("tolerance")),
                 a.findtext("tolerancetype"))
                for a in q.findall("answer")
            ]  # fmt: skip
            for k in range(len(datasets[names[0]])):
                values = {n: datasets[n][k] for n in names}
                v = _by_display(variants[title], names, [values[n] for n in names])
                rules = [(f, moodle_evaluate(formula, values), t, kind)
                         for f, formula, t, kind in answers]  # fmt: skip
                assert rules[0][1] == pytest.approx(v.answer.value, rel=1e-9, abs=1e-12)
                _check(v.answer, lambda x, r=rules: moodle_accepts(r, x) == 100.0,
                       f"moodle calculated {title} #{k + 1}")  # fmt: skip
                seen[v.item_id, v.answer.value] += 1
        elif kind == "numerical":
            answers = [
                (float(a.get("fraction")), float(a.findtext("text")),
                 float(a.findtext("tolerance")), "nominal")
                for a in q.findall("answer")
            ]  # fmt: skip
            v = _by_value(variants[title], answers[0][1])
            _check(v.answer, lambda x, r=answers: moodle_accepts(r, x) == 100.0,
                   f"moodle numerical {title}")  # fmt: skip
            seen[v.item_id, v.answer.value] += 1
    return seen


def _gift(quiz: Quiz, data: bytes) -> Counter:
    variants, seen = _variants(quiz), Counter()
    text = data.decode()
    for name, body in re.findall(r"^::(.*?)::\[html\].*?\{#\n(.*?)\n\}$", text, re.M | re.S):
        title = _title(gift_unescape(name))
        answers = [
            (float(f), float(value), float(tol), "nominal")
            for f, value, tol in re.findall(r"^\t=%(-?[\d.]+)%([-\d.e]+):([\d.e-]+)#", body, re.M)
        ]
        v = _by_value(variants[title], answers[0][1])
        _check(v.answer, lambda x, r=answers: moodle_accepts(r, x) == 100.0, f"gift {title}")
        seen[v.item_id, v.answer.value] += 1
    return seen


def _qti12(quiz: Quiz, data: bytes) -> Counter:
    variants, seen = _variants(quiz), Counter()
    z = zipfile.ZipFile(io.BytesIO(data))
    (name,) = [n for n in z.namelist() if n.count("/") == 1 and "meta" not in n]
    for item in etree.fromstring(z.read(name)).iter(f"{QTI12}item"):
        title = _title(item.get("title"))
        kind = next(
            f.findtext(f"{QTI12}fieldentry")
            for f in item.iter(f"{QTI12}qtimetadatafield")
            if f.findtext(f"{QTI12}fieldlabel") == "question_type"
        )
        if kind == "calculated_question":
            calc = item.find(f"{QTI12}itemproc_extension/{QTI12}calculated")
            tolerance = calc.findtext(f"{QTI12}answer_tolerance")
            formula = calc.findtext(f"{QTI12}formulas/{QTI12}formula")
            for var_set in calc.iter(f"{QTI12}var_set"):
                values = {x.get("name"): x.text for x in var_set.iter(f"{QTI12}var")}
                answer = var_set.findtext(f"{QTI12}answer")
                spec = variants[title][0]
                ours = {n.replace("_", ""): n for n in spec.params}
                names = sorted(values)
                v = _by_display(variants[title], [ours[n] for n in names],
                                [values[n] for n in names])  # fmt: skip
                assert float(answer) == v.answer.value
                assert canvas_evaluate(formula, values) == pytest.approx(
                    v.answer.value, rel=1e-9, abs=1e-12
                )
                decide = lambda x, a=answer, t=tolerance: canvas_calculated_accepts(a, t, x)  # noqa: E731
                _check(v.answer, decide, f"canvas calculated {title}")
                seen[v.item_id, v.answer.value] += 1
        elif kind == "numerical_question":
            low = item.findtext(f".//{QTI12}vargte")
            high = item.findtext(f".//{QTI12}varlte")
            exact = float(item.findtext(f".//{QTI12}or/{QTI12}varequal"))
            v = _by_value(variants[title], exact)
            _check(v.answer, lambda x, lo=low, hi=high: canvas_range_accepts(lo, hi, x),
                   f"canvas numerical {title}")  # fmt: skip
            seen[v.item_id, v.answer.value] += 1
    return seen


def _qti21(quiz: Quiz, data: bytes) -> Counter:
    variants, seen = _variants(quiz), Counter()
    z = zipfile.ZipFile(io.BytesIO(data))
    for name in z.namelist():
        if not name.startswith("items/"):
            continue
        item = etree.fromstring(z.read(name))
        equal = item.find(f".//{QTI21}responseIf/{QTI21}equal")
        if equal is None:
            continue
        assert equal.get("toleranceMode") == "absolute"
        assert equal.get("includeLowerBound") == equal.get("includeUpperBound") == "true"
        t0, t1 = (float(t) for t in equal.get("tolerance").split())
        y = float(item.findtext(f".//{QTI21}correctResponse/{QTI21}value"))
        v = _by_value(variants[_title(item.get("title"))], y)
        _check(v.answer, lambda x, y=y, t0=t0, t1=t1: qti_equal_absolute(x, y, t0, t1),
               f"qti21 {name}")  # fmt: skip
        seen[v.item_id, v.answer.value] += 1
    return seen


CHECKS = {"moodle": _moodle, "gift": _gift, "qti12": _qti12, "qti21": _qti21}


def distinct_variants(quiz: Quiz) -> list[Variant]:
    """One variant per item and drawn parameters (what an LMS export carries)."""
    return list({
        (v.item_id, repr(sorted(v.params.items()))): v
        for s in quiz.students
        for v in quiz.variants[s.student_id]
    }.values())  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_tolerance_parity_for_every_numeric_item(fmt, many_seed_quizzes):
    for quiz in many_seed_quizzes:
        seen = CHECKS[fmt](quiz, export(quiz, fmt, CREATED))
        distinct = distinct_variants(quiz)
        drawn = Counter((v.item_id, v.answer.value) for v in distinct)
        assert seen == drawn, f"{fmt}: exported variants differ from the drawn ones"


def test_the_builtin_bank_has_an_item_graded_to_significant_figures(many_seed_quizzes):
    specs = many_seed_quizzes[0].items.values()
    assert any(s.answer.sigfigs is not None for s in specs)


SIGFIGS_BANK = """
- id: sf-decades
  kind: numeric
  title: A ratio over several decades
  topic: probability-ratio
  bloom: apply
  prompt: "Compute exp({{ logp }} - ({{ old_logp }})) to 2 significant figures."
  params:
    logp: {low: -3.0, high: -0.1, decimals: 2}
    old_logp: {low: -3.0, high: -0.1, decimals: 2}
  answer: {expr: "prob_ratio(logp, old_logp)", sigfigs: 2}
  misconceptions:
    - {name: log-ratio, expr: "logp - old_logp", feedback: "That is the log-ratio."}
- id: sf-mixed
  kind: numeric
  title: Relative and significant-figure terms in one decade
  topic: clipping
  bloom: apply
  prompt: "Compute {{ ratio }} times {{ advantage }} to 2 significant figures."
  params:
    ratio: {low: 1.0, high: 1.9, decimals: 2}
    advantage: {low: 1.1, high: 5.0, decimals: 2}
  constraints: ["ratio * advantage < 9.9"]
  answer: {expr: "unclipped_surrogate(ratio, advantage)", sigfigs: 2, rtol: 0.01}
- id: sf-zero
  kind: numeric
  title: A difference that can be zero
  topic: kl-penalty
  bloom: apply
  prompt: "Compute {{ logp }} - ({{ ref_logp }}) to 3 significant figures."
  params:
    logp: {low: -1.0, high: -0.5, decimals: 1}
    ref_logp: {low: -1.0, high: -0.5, decimals: 1}
  answer: {expr: "kl_k1(logp, ref_logp)", sigfigs: 3, atol: 0.0001}
"""


@pytest.fixture(scope="module")
def sigfigs_quizzes(tmp_path_factory):
    """The significant-figure bank for 40 students under 3 seeds."""
    from questions.bank import load_bank
    from questions.generate import generate_quiz
    from questions.variants import Student

    path = tmp_path_factory.mktemp("sigfigs") / "bank.yaml"
    path.write_text(SIGFIGS_BANK, encoding="utf-8")
    specs = load_bank([path]).select(None)
    students = [
        Student(student_id=f"p{i:03d}", name=f"Student {i}", email=f"p{i}@example.edu")
        for i in range(40)
    ]
    return [generate_quiz(specs, students, seed, "Sigfigs") for seed in (1, 2, 3)]


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_tolerance_parity_for_significant_figures(fmt, sigfigs_quizzes):
    decades = set()
    for quiz in sigfigs_quizzes:
        notes: list[str] = []
        seen = CHECKS[fmt](quiz, export(quiz, fmt, CREATED, notes))
        distinct = distinct_variants(quiz)
        drawn = Counter((v.item_id, v.answer.value) for v in distinct)
        assert seen == drawn, f"{fmt}: exported variants differ from the drawn ones"
        decades |= {(v.item_id, v.answer.sig_margin) for v in distinct}
    assert len({m for i, m in decades if i == "sf-decades"}) >= 3, "keys span decades"
    assert ("sf-zero", 0.0) in decades, "a key of 0 (margin from atol) was drawn"


def test_significant_figures_pick_the_exact_form_each_lms_has(sigfigs_quizzes):
    """Moodle: a calculated question when one nominal tolerance is exact (sf-mixed, keys
    in one decade), else pre-drawn numerical questions; Canvas likewise with its one
    ``answer_tolerance``; the notes say why."""
    quiz = sigfigs_quizzes[0]
    notes: list[str] = []
    root = etree.fromstring(export(quiz, "moodle", CREATED, notes))
    kinds = Counter((_title(q.findtext("name/text") or ""), q.get("type"))
                    for q in root.iter("question") if q.get("type") != "category")  # fmt: skip
    assert kinds[("Relative and significant-figure terms in one decade", "calculated")] == 1
    assert kinds[("A ratio over several decades", "calculated")] == 0
    assert kinds[("A ratio over several decades", "numerical")] > 1
    assert any(n.startswith("sf-decades: no Moodle formula (the 2-significant-figure margin")
               for n in notes)  # fmt: skip
    (mixed,) = [q for q in root.iter("question") if q.get("type") == "calculated"]
    tolerances = [(a.findtext("tolerancetype"), a.findtext("tolerance"))
                  for a in mixed.findall("answer")]  # fmt: skip
    assert tolerances == [("1", "0.01"), ("2", "0.05")]
    assert {a.findtext("correctanswerformat") for a in mixed.findall("answer")} == {"2"}
    assert {a.findtext("correctanswerlength") for a in mixed.findall("answer")} == {"2"}

    notes = []
    canvas = zipfile.ZipFile(io.BytesIO(export(quiz, "qti12", CREATED, notes)))
    (name,) = [n for n in canvas.namelist() if n.count("/") == 1 and "meta" not in n]
    types = {
        f.findtext(f"{QTI12}fieldentry")
        for f in etree.fromstring(canvas.read(name)).iter(f"{QTI12}qtimetadatafield")
        if f.findtext(f"{QTI12}fieldlabel") == "question_type"
    }
    assert types == {"numerical_question"}, "one Canvas tolerance cannot hold these margins"
    for item_id in ("sf-decades", "sf-mixed", "sf-zero"):
        assert any(n.startswith(f"{item_id}: no Canvas formula question (the margin changes")
                   for n in notes), item_id  # fmt: skip


def test_significant_figure_exports_are_schema_valid(sigfigs_quizzes, qti12_schema,
                                                     qti21_schema):  # fmt: skip
    quiz = sigfigs_quizzes[0]
    canvas = zipfile.ZipFile(io.BytesIO(export(quiz, "qti12", CREATED)))
    (name,) = [n for n in canvas.namelist() if n.count("/") == 1 and "meta" not in n]
    doc = etree.fromstring(canvas.read(name))
    assert qti12_schema.validate(etree.ElementTree(doc)), qti12_schema.error_log
    package = zipfile.ZipFile(io.BytesIO(export(quiz, "qti21", CREATED)))
    for name in package.namelist():
        if name.startswith("items/") and name.endswith(".xml"):
            doc = etree.fromstring(package.read(name))
            assert qti21_schema.validate(etree.ElementTree(doc)), (name, qti21_schema.error_log)
