"""``python -m autograder demo``: the instructor's whole job on a built-in example.

Builds a course, adds three sample students — one with the reference solution, one who
handed the notebook in untouched, one who did the first half — grades them and prints the
table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from autograder.authoring.reference import use_solutions
from autograder.course import CourseError
from autograder.course.create import MARKER, build_course

# The demo's "half done" student, per lesson: the answers it gives (the others are left as handed out).
HALF_DONE = {"residual_networks": ("identity_block", "convolutional_block"), "residual_units": ("ResidualBlock",)}


def students(lesson: str) -> dict[str, tuple[str, ...] | None]:
    """The demo's three students for ``lesson``: the answers each gives (None: all of them)."""
    return {"solved": None, "untouched": (), "half_done": HALF_DONE[lesson]}


def _submission(release: nbformat.NotebookNode, lesson: str, solved: tuple[str, ...] | None) -> nbformat.NotebookNode:
    from autograder.authoring.solve import solve

    full = solve(release, lesson)
    if solved is None:
        return full
    notebook = nbformat.from_dict(release)
    for mine, answer in zip(notebook.cells, full.cells, strict=True):
        if mine.metadata.get("nbgrader", {}).get("grade_id") in solved:
            mine.source = answer.source
    return notebook


def add_students(root: Path, lessons: list[str]) -> None:
    use_solutions()
    for lesson in lessons:
        release = nbformat.read(root / "release" / lesson / f"{lesson}.ipynb", as_version=4)
        for student, solved in students(lesson).items():
            folder = root / "submitted" / student / lesson
            shutil.copytree(root / "release" / lesson, folder, dirs_exist_ok=True)
            nbformat.write(_submission(release, lesson, solved), folder / f"{lesson}.ipynb")


def prepare(out: Path, lang: str) -> Path:
    """A fresh demo course in ``out``; an earlier demo there is replaced, anything else is left alone."""
    if out.exists() and any(out.iterdir()):
        marker = out / MARKER
        if not (marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("demo")):
            raise CourseError("not_demo", out=out)
        shutil.rmtree(out)
    root = build_course(out, lang)
    description = json.loads((root / MARKER).read_text(encoding="utf-8"))
    (root / MARKER).write_text(json.dumps(description | {"demo": True}, indent=1) + "\n", encoding="utf-8")
    add_students(root, description["lessons"])
    return root
