"""The LMS formulas are twins of ``ppo_math``; what has no formula falls back, and says so."""

from __future__ import annotations

import ast
import inspect
import math
import random

import pytest
from lxml import etree

from questions import ppo_math
from questions.export import ExportError, export
from questions.export.errors import Unexpressible
from questions.export.formula import INLINE, inline, to_canvas, to_moodle
from tests.export.conftest import CREATED
from tests.export.helpers import members

SCOPE = {"min": min, "max": max, "exp": math.exp, "log": math.log, "abs": abs, "sqrt": math.sqrt}


@pytest.mark.parametrize("name", sorted(INLINE))
def test_every_inlined_body_equals_its_ppo_math_function(name):
    params, _ = INLINE[name]
    assert list(inspect.signature(getattr(ppo_math, name)).parameters) == list(params)
    tree = ast.Expression(inline(f"{name}({', '.join(params)})"))
    code = compile(ast.fix_missing_locations(tree), "<inlined>", "eval")
    rng = random.Random(name)
    for _ in range(500):
        args = {p: round(rng.uniform(0.05, 3.0) * rng.choice((1, -1, 1)), 3) for p in params}
        if name == "adaptive_kl_update":
            args |= {"target": abs(args["target"]), "horizon": abs(args["horizon"])}
        if name == "clip":
            args["low"], args["high"] = sorted((args["low"], args["high"]))
        if "clip_eps" in args:
            args["clip_eps"] = abs(args["clip_eps"]) % 1
        expected = getattr(ppo_math, name)(**args)
        got = eval(code, {"__builtins__": {}}, {**SCOPE, **args})  # noqa: S307
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), args


@pytest.mark.parametrize(
    "source",
    ["0 if ratio > 1 else advantage", "ratio > 1", "ratio % 2",
     "gae_advantages(rewards, values, gamma, lam)", "ratio_gradient_is_zero(r, a, e)"],
)  # fmt: skip
def test_what_has_no_formula_is_refused(source):
    with pytest.raises(Unexpressible):
        to_moodle(source)


def test_keyword_arguments_and_precedence():
    assert to_moodle("kl_penalty(kl_coef=b, logp=x, ref_logp=y)") == "0 - {b} * ({x} - {y})"
    assert to_moodle("a - (b - c) / (d * e)") == "{a} - ({b} - {c}) / ({d} * {e})"
    assert to_canvas("-(a + b) ** 2", {"a": "a", "b": "b"}) == "-((a + b)^2)"  # ** first
    assert to_moodle("log(a) ** (b + 1)") == "pow(log({a}), {b} + 1)"


FALLBACK_BANK = """
- id: step-answer
  kind: numeric
  title: A piecewise answer
  topic: clipping
  bloom: apply
  prompt: Is $r = {{ ratio }}$ above 1? Give $A$ if not, else 0 (here $A = {{ advantage }}$).
  params:
    ratio: {low: 0.5, high: 1.5, decimals: 2}
    advantage: {low: 0.5, high: 3.0, decimals: 1}
  answer: {expr: "0 if ratio > 1 else advantage", rtol: 0.01, atol: 0.05, decimals: 3}
"""


@pytest.fixture(scope="module")
def fallback_quiz(tmp_path_factory):
    from questions.cli import build_quiz
    from questions.quizdir import read_quiz

    root = tmp_path_factory.mktemp("fallback")
    (root / "bank.yaml").write_text(FALLBACK_BANK, encoding="utf-8")
    roster = "student_id,name,email\n" + "".join(f"f{i},F {i},f{i}@x.edu\n" for i in range(6))
    (root / "roster.csv").write_text(roster, encoding="utf-8")
    build_quiz(str(root / "roster.csv"), 3, root / "quiz", None, (str(root / "bank.yaml"),),
               "Fallback", False)  # fmt: skip
    return read_quiz(root / "quiz")


def test_an_item_without_a_formula_becomes_pick_one_of_k(fallback_quiz, qti12_schema):
    k = len({repr(v.params) for vs in fallback_quiz.variants.values() for v in vs})
    assert k > 1
    notes: list[str] = []
    moodle = etree.fromstring(export(fallback_quiz, "moodle", CREATED, notes))
    types = [q.get("type") for q in moodle.iter("question")]
    assert types == ["category"] + ["numerical"] * k
    assert moodle.findtext("question/category/text") == "$course$/top/Fallback/step-answer"
    assert any(n.startswith("step-answer: no Moodle formula") for n in notes)

    notes = []
    files = members(export(fallback_quiz, "qti12", CREATED, notes))
    (name,) = [n for n in files if n.count("/") == 1 and "meta" not in n]
    doc = etree.fromstring(files[name])
    assert qti12_schema.validate(etree.ElementTree(doc))
    q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
    (group,) = [s for s in doc.iter(f"{q}section") if s.get("ident") != "root_section"]
    assert len(group.findall(f"{q}item")) == k
    assert any("no Canvas formula question" in n for n in notes)


def test_a_quiz_without_students_or_an_unknown_format_is_an_error(fallback_quiz):
    with pytest.raises(ExportError, match="unknown export format"):
        export(fallback_quiz, "blackboard", CREATED)
    empty = fallback_quiz.model_copy(update={"students": (), "variants": {}})
    with pytest.raises(ExportError, match="no students"):
        export(empty, "moodle", CREATED)


VARYING_BANK = """
- id: varying-choice
  kind: multiple_choice
  title: A choice with a drawn number
  topic: clipping
  bloom: apply
  prompt: With $\\epsilon = {{ clip_eps }}$, where is a ratio clipped from above?
  params:
    clip_eps: {choices: [0.1, 0.2, 0.3], decimals: 1}
  derived:
    upper: {expr: "1 + clip_eps", decimals: 1}
  options:
    - {text: "At ${{ upper }}$", correct: true, feedback: "Yes, $1 + \\\\epsilon$."}
    - {text: "At $1$", feedback: "No, that is the centre of the range."}
- id: strict-multiple
  kind: multiple_choice
  title: All or nothing
  topic: clipping
  bloom: remember
  multiple: true
  prompt: Which are PPO hyper-parameters?
  options:
    - {text: clip_eps, correct: true, feedback: "Yes."}
    - {text: kl_coef, correct: true, feedback: "Yes, with a KL penalty."}
    - {text: the reward, feedback: "No."}
"""


@pytest.fixture(scope="module")
def varying_quiz(tmp_path_factory):
    from questions.cli import build_quiz
    from questions.quizdir import read_quiz

    root = tmp_path_factory.mktemp("varying")
    (root / "bank.yaml").write_text(VARYING_BANK, encoding="utf-8")
    roster = "student_id,name,email\n" + "".join(f"v{i},V {i},v{i}@x.edu\n" for i in range(9))
    (root / "roster.csv").write_text(roster, encoding="utf-8")
    build_quiz(str(root / "roster.csv"), 4, root / "quiz", None, (str(root / "bank.yaml"),),
               "Varying", False)  # fmt: skip
    return read_quiz(root / "quiz")


def test_choices_with_drawn_parameters_become_pick_one_of_k(
    varying_quiz, qti12_schema, qti21_schema
):
    k = len({repr(v.params) for vs in varying_quiz.variants.values() for v in vs
             if v.item_id == "varying-choice"})  # fmt: skip
    assert k > 1
    notes: list[str] = []
    moodle = etree.fromstring(export(varying_quiz, "moodle", CREATED, notes))
    names = [q.findtext("name/text") for q in moodle.iter("question")]
    assert sum(n is not None and n.startswith("A choice with a drawn number (") for n in names) == k
    assert any(n.startswith("strict-multiple: all-or-nothing") for n in notes)
    notes = []
    canvas = members(export(varying_quiz, "qti12", CREATED, notes))
    (name,) = [n for n in canvas if n.count("/") == 1 and "meta" not in n]
    assert qti12_schema.validate(etree.fromstring(canvas[name]).getroottree())
    assert any(n.startswith("strict-multiple: Canvas always gives partial") for n in notes)
    package = members(export(varying_quiz, "qti21", CREATED))
    for file, body in package.items():
        if file != "imsmanifest.xml":
            assert qti21_schema.validate(etree.fromstring(body).getroottree()), file
    test = etree.fromstring(package["test.xml"])
    q = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
    (group,) = test.findall(f".//{q}assessmentSection/{q}assessmentSection")
    assert len(group.findall(f"{q}assessmentItemRef")) == k
    gift = export(varying_quiz, "gift", CREATED).decode()
    assert gift.count("::A choice with a drawn number (variant") == k


def test_all_or_nothing_multiple_answer_is_exact_in_qti21(varying_quiz):
    q = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
    package = members(export(varying_quiz, "qti21", CREATED))
    (doc,) = [d for n, b in package.items() if n.startswith("items/")
              for d in [etree.fromstring(b)] if d.get("title") == "All or nothing"]  # fmt: skip
    assert doc.find(f".//{q}mapping") is None
    assert doc.find(f".//{q}responseProcessing//{q}match") is not None
    correct = {v.text for v in doc.iter(f"{q}value") if v.getparent().tag == f"{q}correctResponse"}
    assert correct == {"c0", "c1"}
