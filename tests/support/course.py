"""What many tests do with a graded course: read its scores, write a student's answers, read a page as text.

One copy here instead of one per test file (issue 17).
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import nbformat


def scores(root: Path, lesson: str = "residual_networks") -> dict[str, float]:
    """``grades.csv`` of the course in ``root``: each student's final score on ``lesson``."""
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file) if row["assignment"] == lesson}


def answered(notebook_path: Path, lesson: str = "residual_networks", stub: str | None = None) -> str:
    """The notebook at ``notebook_path`` with the reference answers written in, the answer cell ``stub`` left as is.

    Computed by the tests' process (which reads ``solutions/``; no student can); a test writes it as the student.
    """
    from autograder.authoring.solve import solve

    notebook = nbformat.read(notebook_path, as_version=4)
    solved = solve(notebook, lesson)
    for mine, answer in zip(notebook.cells, solved.cells, strict=True):
        if mine.metadata.get("nbgrader", {}).get("grade_id") != stub:
            mine.source = answer.source
    return nbformat.writes(notebook)


def visible_text(page: str) -> str:
    """The words a browser shows of an HTML page (no styles, scripts or tags), spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ", page, flags=re.S))
                    .split())
