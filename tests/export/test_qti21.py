"""QTI 2.1 content package for the whole built-in bank: schemas, references, scoring."""

from __future__ import annotations

import pytest
from lxml import etree

from questions.models import EssayItem, MultipleChoiceItem
from tests.export.helpers import members, private_snippets, subsets
from tests.export.lms_rules import qti_map_response

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"


@pytest.fixture(scope="module")
def files(bank_exports):
    return members(bank_exports["qti21"][0])


@pytest.fixture(scope="module")
def items(files):
    return {n: etree.fromstring(b) for n, b in files.items()
            if n.startswith("items/") and n.endswith(".xml")}  # fmt: skip


def test_every_item_and_the_test_are_valid_qti21(files, items, qti21_schema):
    for name, doc in [*items.items(), ("test.xml", etree.fromstring(files["test.xml"]))]:
        ok = qti21_schema.validate(etree.ElementTree(doc))
        assert ok, (name, qti21_schema.error_log.filter_from_errors()[:3])


def test_manifest_is_valid_ims_cp_and_lists_exactly_the_files(files, imscp_schema):
    manifest = etree.fromstring(files["imsmanifest.xml"])
    ok = imscp_schema.validate(etree.ElementTree(manifest))
    assert ok, imscp_schema.error_log.filter_from_errors()[:3]
    hrefs = {f.get("href") for f in manifest.iter(f"{CP}file")}
    assert hrefs == set(files) - {"imsmanifest.xml"}
    resources = {r.get("identifier"): r for r in manifest.iter(f"{CP}resource")}
    for dep in manifest.iter(f"{CP}dependency"):
        assert resources[dep.get("identifierref")].get("type") == "imsqti_item_xmlv2p1"


def test_the_test_refers_to_every_item_file_by_its_identifier(files, items, bank_quiz):
    test = etree.fromstring(files["test.xml"])
    refs = {r.get("href"): r.get("identifier") for r in test.iter(f"{QTI}assessmentItemRef")}
    assert set(refs) == set(items)
    for href, identifier in refs.items():
        assert items[href].get("identifier") == identifier
    sections = test.findall(f".//{QTI}assessmentSection/{QTI}assessmentSection")
    for section in sections:
        assert section.find(f"{QTI}selection").get("select") == "1"
    top = test.find(f".//{QTI}assessmentSection")
    assert len(top) == len(bank_quiz.item_ids), "one entry per item, in quiz order"


def test_choice_scoring_matches_choice_score(items, bank_quiz):
    by_title = {doc.get("title"): doc for doc in items.values()}
    for spec in bank_quiz.items.values():
        if not isinstance(spec, MultipleChoiceItem):
            continue
        doc = by_title[spec.title]
        choices = [c.get("identifier") for c in doc.iter(f"{QTI}simpleChoice")]
        fixed = [c.get("fixed") == "true" for c in doc.iter(f"{QTI}simpleChoice")]
        assert fixed == [o.fixed for o in spec.options]
        correct = {
            v.text for v in doc.iter(f"{QTI}value") if v.getparent().tag.endswith("correctResponse")
        }
        mapping = doc.find(f".//{QTI}mapping")
        feedback = {f.get("identifier") for f in doc.iter(f"{QTI}modalFeedback")}
        assert feedback == set(choices)
        variant = bank_quiz.variants[bank_quiz.students[0].student_id][
            bank_quiz.item_ids.index(spec.id)
        ]
        ours = {o.source_index: o.label for o in variant.options}
        to_ours = {c: ours[i] for i, c in enumerate(choices)}
        for chosen in subsets(choices):
            if not spec.multiple and len(chosen) > 1:
                continue
            if mapping is not None:
                values = {e.get("mapKey"): float(e.get("mappedValue")) for e in mapping}
                score = qti_map_response(values, chosen, float(mapping.get("lowerBound")),
                                         float(mapping.get("upperBound")))  # fmt: skip
            else:
                score = spec.points if chosen == correct else 0.0
            mine = spec.points * variant.choice_score({to_ours[c] for c in chosen})
            assert score == pytest.approx(mine, abs=1e-9), (spec.id, sorted(chosen))


def test_essay_notes_only_in_a_scorer_rubric_block(items, bank_quiz):
    snippets = private_snippets(bank_quiz)
    by_title = {}
    for doc in items.values():
        by_title.setdefault(doc.get("title"), []).append(doc)
    for item_id, phrases in snippets.items():
        spec = bank_quiz.items[item_id]
        for doc in by_title[spec.title]:
            shown = " ".join(doc.xpath(".//text()[not(ancestor::q:rubricBlock)]",
                                       namespaces={"q": QTI[1:-1]}))  # fmt: skip
            for phrase in phrases:
                assert phrase not in shown, f"{item_id}: {phrase!r}"
            blocks = doc.findall(f".//{QTI}rubricBlock")
            if isinstance(spec, EssayItem):
                (block,) = blocks
                assert block.get("view") == "scorer"
                notes = " ".join(block.xpath("string()").split())
                missing = [p for p in phrases if p not in notes]
                assert not missing, (item_id, missing[:3])
            else:
                assert not blocks


def test_math_is_mathml(items):
    maths = [
        m for doc in items.values() for m in doc.iter("{http://www.w3.org/1998/Math/MathML}math")
    ]
    assert maths
    assert not any("\\(" in (doc.xpath("string()")) for doc in items.values())
