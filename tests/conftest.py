"""Shared fixtures: notebooks executed once per session, as nbgrader would run them."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "ru")
LESSONS = sorted(path.stem for path in (ROOT / "notebooks" / "src").glob("*.lesson"))


def student_notebook(lesson: str, lang: str) -> Path:
    return ROOT / "notebooks" / lang / f"{lesson}.ipynb"


_executed: dict[tuple[str, str, str], nbformat.NotebookNode] = {}


def executed(lesson: str, lang: str, variant: str) -> nbformat.NotebookNode:
    """The ``solved`` or untouched (``stub``) notebook after a run in fast grading mode."""
    key = (lesson, lang, variant)
    if key not in _executed:
        from autograder.build.execute import execute
        from autograder.build.solve import solve

        path = student_notebook(lesson, lang)
        notebook = nbformat.read(path, as_version=4)
        if variant == "solved":
            notebook = solve(notebook, lesson)
        _executed[key] = execute(notebook, path.parent, env={"RESNET_COURSE_LANG": lang})
    return _executed[key]
