"""Evidence figures travel inside the packages (Moodle XML, Canvas QTI 1.2, QTI 2.1) and
GIFT, which cannot carry images, says so."""

from __future__ import annotations

import base64
import re

import pytest
from lxml import etree

from questions.exhibits import figure_bytes

from .helpers import members

CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
QTI21 = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"


@pytest.fixture(scope="module")
def figures(bank_quiz) -> dict[str, bytes]:
    """{file name: pack bytes} of every figure the quiz shows, and which items show it."""
    found = {v.exhibit.figure: figure_bytes(v.exhibit)
             for vs in bank_quiz.variants.values() for v in vs
             if v.exhibit and v.exhibit.figure}  # fmt: skip
    assert len(found) >= 3
    return found


def test_moodle_embeds_each_figure_in_its_question_text(bank_exports, figures):
    root = etree.fromstring(bank_exports["moodle"][0])
    seen = {}
    for text in root.iter("questiontext"):
        html = text.findtext("text")
        for f in text.findall("file"):
            assert f.get("encoding") == "base64" and f.get("path") == "/"
            assert f'src="@@PLUGINFILE@@/{f.get("name")}"' in html  # the text links it
            seen[f.get("name")] = base64.b64decode(f.text)
        for name in re.findall(r"@@PLUGINFILE@@/([\w.-]+)", html):
            assert name in {f.get("name") for f in text.findall("file")}  # none dangling
    assert seen == figures


def test_canvas_package_carries_figures_in_web_resources(bank_exports, figures):
    files = members(bank_exports["qti12"][0])
    assert {n: b for n, b in files.items() if n.startswith("web_resources/")} == {
        f"web_resources/figures/{n}": b for n, b in figures.items()
    }
    manifest = files["imsmanifest.xml"].decode()
    for name in figures:
        assert f'href="web_resources/figures/{name}"' in manifest
    assessment = next(b for n, b in files.items() if n.endswith(".xml") and "/" in n
                      and not n.endswith("assessment_meta.xml")).decode()  # fmt: skip
    linked = set(re.findall(r"\$IMS-CC-FILEBASE\$/figures/([\w.-]+)", assessment))
    assert linked == set(figures)


def test_qti21_items_show_figures_listed_in_the_manifest(bank_exports, figures):
    files = members(bank_exports["qti21"][0])
    assert {n: b for n, b in files.items() if n.endswith(".png")} == {
        f"items/figures/{n}": b for n, b in figures.items()
    }
    manifest = etree.fromstring(files["imsmanifest.xml"])
    for resource in manifest.iter(f"{CP}resource"):
        href = resource.get("href")
        if not href.startswith("items/"):
            continue
        item = etree.fromstring(files[href])
        srcs = {img.get("src") for img in item.iter(f"{QTI21}img")}
        listed = {f.get("href") for f in resource.iter(f"{CP}file")}
        assert {f"items/{s}" for s in srcs} == listed - {href}
        for img in item.iter(f"{QTI21}img"):
            assert img.get("alt")


def test_gift_says_it_cannot_carry_the_figures(bank_exports, figures):
    text, notes = bank_exports["gift"]
    for name in figures:
        assert any("GIFT cannot carry images" in n and name in n for n in notes)
        assert name not in text.decode()
    assert "sampled text" in text.decode()  # sample texts are text, so they travel
