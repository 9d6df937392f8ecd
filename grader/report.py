"""The instructor's HTML report of a graded quiz, and one feedback page per student.

``alignquiz report --db URL [--quiz ID] --out DIR`` writes::

    DIR/index.html                 score distribution, item analysis, alpha, essays to review
    DIR/score-distribution.png     the histogram (also embedded in index.html)
    DIR/students/STUDENT.html      each student's score, per-item points and feedback

Every page is self-contained (inline CSS, the plot as a data URI, no script, no CDN)
and rendered by jinja2 with autoescape and ``StrictUndefined``; the templates format,
they never compute: :func:`build_context` prepares every number and string.

Essays for review: the newest grade of every answered essay of a counted attempt that
the grader flagged for review or graded with a confidence below :data:`CERTAIN_AT`;
the flagged ones first, then by confidence, lowest first.
Matplotlib (Agg) is imported only inside :func:`plot_distribution`.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.analysis import LOW_DISCRIMINATION, QuizAnalysis, analyse, histogram
from grader.errors import ReportError

if TYPE_CHECKING:
    from grader.store import Gradebook

__all__ = ["ReportFiles", "build_context", "plot_distribution", "write_report"]

TEMPLATES = Path(__file__).parent / "templates"
BINS = 10
CERTAIN_AT = 0.8
"""Essays graded with at least this confidence, and not flagged, are left out of the
review list (they are on the students' pages)."""


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    index: Path
    plot: Path
    students: tuple[Path, ...]
    seconds: float


def _plain(text: str) -> str:
    from questions.render import to_plain_text

    return to_plain_text(text)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _num(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def plot_distribution(analysis: QuizAnalysis, path: Path) -> bytes:
    """Draw the histogram of total scores to ``path`` (PNG); return the PNG's bytes."""
    try:
        import matplotlib
    except ImportError:
        raise ReportError(
            "the report's plot needs matplotlib: pip install 'alignquiz[sim]' (or matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = analysis.max_points
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
    try:
        edges = [top * i / BINS for i in range(BINS + 1)]
        counts = histogram(analysis.totals, top, BINS)
        ax.bar(edges[:-1], counts, width=top / BINS, align="edge", color="#4a78b5",
               edgecolor="white")  # fmt: skip
        if analysis.mean is not None:
            ax.axvline(analysis.mean, color="#c0392b", linestyle="--", linewidth=1.5,
                       label=f"mean {analysis.mean:.1f}")  # fmt: skip
            ax.legend(frameon=False)
        ax.set_xlim(0, top)
        ax.set_xlabel(f"total points (of {top:g})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(f"Score distribution ({len(analysis.totals)} students)", fontsize=11)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return Path(path).read_bytes()


def build_context(
    book: Gradebook, quiz_id: str, analysis: QuizAnalysis | None = None
) -> dict[str, Any]:
    """Everything the templates show, formatted: the analysis, the essays to review
    and one entry per student with a counted attempt."""
    analysis = analysis or analyse(book, quiz_id)
    quiz = book.load_quiz(quiz_id)
    totals = {t.student_id: t for t in book.totals(quiz_id, "last")}
    counted = {t.submission_id for t in totals.values() if t.submission_id is not None}
    subs = {s.id: s for s in book.submissions(quiz_id) if s.id in counted}
    grades: dict[int, dict[str, Any]] = {}
    for g in book.latest_grades(quiz_id):
        if g.submission_id in counted:
            grades.setdefault(g.submission_id, {})[g.item_id] = g
    names = {s.student_id: s.name for s in quiz.students}

    items = [{"item_id": s.item_id, "title": s.title, "kind": s.kind.replace("_", " "),
              "max_points": f"{s.max_points:g}", "difficulty": _pct(s.difficulty),
              "discrimination": _num(s.discrimination), "flagged": s.flagged}
             for s in analysis.items]  # fmt: skip

    review = []
    for sub_id, by_item in grades.items():
        sub = subs[sub_id]
        for item_id, g in by_item.items():
            if quiz.items[item_id].kind != "essay" or item_id not in sub.answers:
                continue
            review.append({
                "student_id": sub.student_id, "name": names.get(sub.student_id, ""),
                "item_id": item_id, "title": quiz.items[item_id].title,
                "points": f"{g.points:.2f}", "max_points": f"{quiz.items[item_id].points:g}",
                "confidence": _num(g.confidence), "review": bool(g.feedback.get("review")),
                "verdict": str(g.feedback.get("verdict", "")).replace("_", " "),
                "answer": sub.answers[item_id],
                "feedback": [_plain(f) for f in g.feedback.get("feedback", [])],
                "_key": (not g.feedback.get("review"), g.confidence or 0.0, sub.student_id),
            })  # fmt: skip
    review.sort(key=lambda r: r.pop("_key"))
    shown = [r for r in review if r["review"] or float(r["confidence"]) < CERTAIN_AT]

    students = []
    for sid, t in totals.items():
        if t.submission_id is None:
            continue
        sub, by_item = subs[t.submission_id], grades.get(t.submission_id, {})
        rows = []
        for v in quiz.variants[sid]:
            g = by_item.get(v.item_id)
            fb = {} if g is None else g.feedback
            rows.append({
                "item_id": v.item_id, "title": v.title, "kind": v.kind.replace("_", " "),
                "answer": sub.answers.get(v.item_id), "max_points": f"{v.points:g}",
                "points": "pending" if g is None else f"{g.points:.2f}",
                "verdict": str(fb.get("verdict", "")).replace("_", " "),
                "feedback": [_plain(f) for f in fb.get("feedback", [])],
            })  # fmt: skip
        students.append({
            "student_id": sid, "name": t.name, "attempts": t.attempts,
            "points": "pending" if t.points is None else f"{t.points:.1f}",
            "max_points": f"{t.max_points:g}",
            "percent": "" if t.points is None or not t.max_points
            else f"{t.points / t.max_points:.0%}",
            "items": rows,
        })  # fmt: skip

    flagged = sum(i["flagged"] for i in items)
    return {
        "quiz_id": quiz_id, "title": quiz.title, "n_students": len(analysis.students),
        "not_graded": list(analysis.not_graded), "n_items": len(items),
        "max_points": f"{analysis.max_points:g}", "mean": _num(analysis.mean, 1),
        "sd": _num(analysis.sd, 1), "alpha": _num(analysis.alpha),
        "threshold": f"{LOW_DISCRIMINATION:g}", "n_flagged": flagged, "items": items,
        "review": shown, "n_essays": len(review), "certain_at": f"{CERTAIN_AT:g}",
        "n_review": sum(r["review"] for r in review), "students": students,
    }  # fmt: skip


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip


def write_report(book: Gradebook, quiz_id: str, out: Path) -> ReportFiles:
    """Write the report of ``quiz_id`` into ``out`` (created; its old pages replaced)."""
    start = time.perf_counter()
    out = Path(out)
    (out / "students").mkdir(parents=True, exist_ok=True)
    for old in (out / "students").glob("*.html"):
        old.unlink()
    analysis = analyse(book, quiz_id)
    context = build_context(book, quiz_id, analysis)
    plot = out / "score-distribution.png"
    png = plot_distribution(analysis, plot)
    env = _environment()
    index = out / "index.html"
    index.write_text(env.get_template("report.html.j2").render(
        **context, plot_data=base64.b64encode(png).decode("ascii"),
    ), encoding="utf-8")  # fmt: skip
    page = env.get_template("student.html.j2")
    written = []
    for student in context["students"]:
        path = out / "students" / f"{student['student_id']}.html"
        path.write_text(page.render(title=context["title"], quiz_id=quiz_id, student=student),
                        encoding="utf-8")  # fmt: skip
        written.append(path)
    return ReportFiles(index, plot, tuple(written), time.perf_counter() - start)
