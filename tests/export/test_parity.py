"""Tolerance parity: every numeric item, many seeds, every format.

For each variant an export carries, a response just inside and just outside the
tolerance must be accepted and refused by the LMS's documented rule (``lms_rules``,
applied to what the file says) exactly as ``NumericAnswer.accepts`` decides. Every
distinct variant the roster drew must be carried, once.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter, defaultdict

import pytest
from lxml import etree

from questions.export import export
from questions.models import NumericAnswer, Quiz, Variant
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
    for x, inside in probes(answer.value, answer.margin):
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


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_tolerance_parity_for_every_numeric_item(fmt, many_seed_quizzes):
    for quiz in many_seed_quizzes:
        seen = CHECKS[fmt](quiz, export(quiz, fmt, CREATED))
        distinct = {
            (v.item_id, repr(sorted(v.params.items()))): v
            for s in quiz.students
            for v in quiz.variants[s.student_id]
        }
        drawn = Counter((v.item_id, v.answer.value) for v in distinct.values())
        assert seen == drawn, f"{fmt}: exported variants differ from the drawn ones"
