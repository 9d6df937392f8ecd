"""Shared plumbing of the exporters: their jinja2 templates and byte-stable zip files.

Templates live in ``questions/export/templates``; ``StrictUndefined`` turns a missing
value into an error, and ``.xml.j2`` and ``.html.j2`` templates are autoescaped (HTML
that is already HTML arrives as ``markupsafe.Markup``). Templates format; the
exporters compute every value they show.

A package is a zip whose bytes depend only on its contents and the date passed in:
entries sorted by name, every timestamp set to that date, fixed permissions, and
``ZIP_STORED`` (no compression), so no zlib version can change a byte.

>>> import datetime, io, zipfile
>>> a = zip_bytes({"b.xml": b"<b/>", "a.xml": b"<a/>"}, datetime.date(2026, 1, 2))
>>> a == zip_bytes({"a.xml": b"<a/>", "b.xml": b"<b/>"}, datetime.date(2026, 1, 2))
True
>>> zipfile.ZipFile(io.BytesIO(a)).namelist()
['a.xml', 'b.xml']
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import jinja2

from questions.render import environment

__all__ = ["TEMPLATES", "render", "template", "zip_bytes"]

TEMPLATES = Path(__file__).parent / "templates"


def template(name: str) -> jinja2.Template:
    """An export template (autoescaped when its name ends in ``.xml.j2`` or ``.html.j2``)."""
    return environment(name.endswith((".xml.j2", ".html.j2")), TEMPLATES).get_template(name)


def render(name: str, **context: object) -> bytes:
    """Render an export template to UTF-8 bytes."""
    return template(name).render(**context).encode("utf-8")


def zip_bytes(files: Mapping[str, bytes], created: datetime.date) -> bytes:
    """A zip of ``files`` (name -> bytes) whose bytes depend only on its inputs."""
    buf = io.BytesIO()
    stamp = (max(created.year, 1980), created.month, created.day, 0, 0, 0)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the host
            zf.writestr(info, files[name])
    return buf.getvalue()
