"""QTI 1.2 Canvas package for the whole built-in bank: schema, manifest, scoring."""

from __future__ import annotations

import zipfile

import pytest
from lxml import etree

from questions.models import MultipleChoiceItem
from tests.export.conftest import CREATED
from tests.export.helpers import base_title, members, private_snippets, subsets
from tests.export.lms_rules import canvas_multiple_answers

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CC = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
CANVAS = "{http://canvas.instructure.com/xsd/cccv1p0}"


@pytest.fixture(scope="module")
def files(bank_exports):
    return members(bank_exports["qti12"][0])


@pytest.fixture(scope="module")
def assessment(files):
    (name,) = [n for n in files if n.count("/") == 1 and not n.endswith("assessment_meta.xml")]
    return etree.fromstring(files[name])


def _field(item, label):
    for f in item.iter(f"{QTI}qtimetadatafield"):
        if f.findtext(f"{QTI}fieldlabel") == label:
            return f.findtext(f"{QTI}fieldentry")
    return None


def test_assessment_is_valid_qti12(assessment, qti12_schema):
    ok = qti12_schema.validate(etree.ElementTree(assessment))
    assert ok, qti12_schema.error_log.filter_from_errors()[:3]


def test_manifest_references_exactly_the_files_in_the_zip(files):
    manifest = etree.fromstring(files["imsmanifest.xml"])
    assert manifest.tag == f"{CC}manifest"
    hrefs = {f.get("href") for f in manifest.iter(f"{CC}file")}
    assert hrefs == set(files) - {"imsmanifest.xml"}
    ids = {r.get("identifier") for r in manifest.iter(f"{CC}resource")}
    assert {d.get("identifierref") for d in manifest.iter(f"{CC}dependency")} <= ids
    types = {r.get("type") for r in manifest.iter(f"{CC}resource")}
    assert "imsqti_xmlv1p2" in types
    dates = [e.text for e in manifest.iter("{http://www.imsglobal.org/xsd/imsmd_v1p2}dateTime")]
    assert dates == [CREATED.isoformat()]


def test_canvas_meta_names_the_assessment_and_its_points(files, assessment, bank_quiz):
    (name,) = [n for n in files if n.endswith("/assessment_meta.xml")]
    meta = etree.fromstring(files[name])
    assert meta.tag == f"{CANVAS}quiz"
    assert meta.get("identifier") == assessment[0].get("ident")
    total = sum(s.points for s in bank_quiz.items.values())
    assert float(meta.findtext(f"{CANVAS}points_possible")) == total
    assert meta.findtext(f"{CANVAS}title") == bank_quiz.title


def test_every_item_is_there_with_a_canvas_type(assessment, bank_quiz):
    kinds = {
        "multiple_choice": {"multiple_choice_question", "multiple_answers_question"},
        "numeric": {"calculated_question", "numerical_question"},
        "essay": {"essay_question"},
    }
    titles = {}
    for item in assessment.iter(f"{QTI}item"):
        titles.setdefault(base_title(item.get("title")), set()).add(_field(item, "question_type"))
    for spec in bank_quiz.items.values():
        assert titles[spec.title] <= kinds[spec.kind], spec.id
    for group in assessment.iter(f"{QTI}section"):
        if group.get("ident") != "root_section":
            assert group.findtext(f".//{QTI}selection_number") == "1"
            assert len(group.findall(f"{QTI}item")) > 1


def test_multiple_answers_score_as_choice_score(assessment, bank_quiz):
    items = {i.get("title"): i for i in assessment.iter(f"{QTI}item")}
    for spec in bank_quiz.items.values():
        if not isinstance(spec, MultipleChoiceItem):
            continue
        item = items[spec.title]
        labels = [r.get("ident") for r in item.iter(f"{QTI}response_label")]
        scoring = [c for c in item.iter(f"{QTI}respcondition") if c.get("continue") == "No"]
        (rule,) = scoring
        correct = {v.text for v in rule.iter(f"{QTI}varequal") if v.getparent().tag != f"{QTI}not"}
        feedback = {f.get("ident") for f in item.iter(f"{QTI}itemfeedback")}
        assert feedback == {f"{label}_fb" for label in labels}, "per-option feedback"
        variant = bank_quiz.variants[bank_quiz.students[0].student_id][
            bank_quiz.item_ids.index(spec.id)
        ]
        ours = {o.source_index: o.label for o in variant.options}
        to_ours = {label: ours[i] for i, label in enumerate(labels)}
        for chosen in subsets(labels):
            if not spec.multiple and len(chosen) > 1:
                continue
            canvas = canvas_multiple_answers(correct, set(labels), chosen)
            mine = variant.choice_score({to_ours[c] for c in chosen})
            assert canvas == pytest.approx(mine), (spec.id, sorted(chosen))


def test_no_private_text_in_the_package(files, assessment, bank_quiz):
    meta = " ".join(etree.fromstring(b).xpath("string()") for n, b in files.items()
                    if n.endswith(("imsmanifest.xml", "assessment_meta.xml")))  # fmt: skip
    for item_id, phrases in private_snippets(bank_quiz).items():
        title = bank_quiz.items[item_id].title
        shown = " ".join(i.xpath("string()") for i in assessment.iter(f"{QTI}item")
                         if base_title(i.get("title")) == title)  # fmt: skip
        assert shown
        for phrase in phrases:
            assert phrase not in shown and phrase not in meta, f"{item_id}: {phrase!r}"


def test_zip_entries_are_sorted_and_stamped_with_the_date(bank_exports):
    import io

    with zipfile.ZipFile(io.BytesIO(bank_exports["qti12"][0])) as z:
        infos = z.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(CREATED.year, CREATED.month, CREATED.day, 0, 0, 0)}
