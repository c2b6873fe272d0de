"""Shared fixtures: notebooks executed once per session, as nbgrader would run them."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = ["support.fixtures"]  # real Unix users, the hub's shared environment, JupyterHub (tests/support)

from autograder.learner.i18n import LANGUAGES  # noqa: E402
from autograder.learner.lesson import NAMES  # noqa: E402
from autograder.paths import REPO as ROOT  # noqa: E402

LANGS = LANGUAGES
LESSONS = list(NAMES)


def student_notebook(lesson: str, lang: str) -> Path:
    return ROOT / "notebooks" / lang / f"{lesson}.ipynb"


_executed: dict[tuple[str, str, str], nbformat.NotebookNode] = {}


def executed(lesson: str, lang: str, variant: str) -> nbformat.NotebookNode:
    """The ``solved`` or untouched (``stub``) notebook after a run in fast grading mode."""
    key = (lesson, lang, variant)
    if key not in _executed:
        from autograder.authoring.execute import execute
        from autograder.authoring.solve import solve

        path = student_notebook(lesson, lang)
        notebook = nbformat.read(path, as_version=4)
        if variant == "solved":
            notebook = solve(notebook, lesson)
        _executed[key] = execute(notebook, path.parent, env={"RESNET_COURSE_LANG": lang})
    return _executed[key]
