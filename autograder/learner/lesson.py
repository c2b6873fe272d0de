"""A lesson, declared once: its exercises, its checks, its hidden tests; and the one list of lessons.

Every tool that handles lessons goes through :func:`lessons` — the course builder, the grading task,
the generators, the demo, the tests — instead of globbing folders or asking a module ``hasattr``.
Each lesson's checks module (``autograder.learner.checks.<name>``) declares ``LESSON``; importing it
changes nothing in the process. A notebook starts its lesson with :func:`start_lesson`, which is what
installs the notebook's error display and, while nbgrader grades, the fast grading mode.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

NAMES = ("residual_networks", "residual_units")  # the lessons, in course order: the one registry


@dataclass(frozen=True)
class Lesson:
    """One lesson: its exercises (the answer cells' grade ids) and the functions its hidden tests need."""

    name: str
    exercises: tuple[str, ...]
    # Called by the hidden part of every grade cell while nbgrader grades: record(grade_id, learner's answer).
    record_hidden: Callable[[str, Any], None]
    # Called by the grader after the kernel has exited: verify(grade_id, recorded arrays, reference module, seed);
    # raises CheckFailed with the verdict.
    verify_hidden: Callable[[str, dict[str, Any], ModuleType, int], None]
    # Called by a grading worker before its first submission: prepare(grade_id, reference module, seed) computes
    # and keeps the reference's outputs that verify_hidden will compare with (the slow part of a first verdict).
    prepare_hidden: Callable[[str, ModuleType, int], None] | None = None

    @property
    def checks(self) -> ModuleType:
        """The module of the lesson's checks (what the notebook calls ``check``)."""
        return importlib.import_module(f"autograder.learner.checks.{self.name}")

    def exercise_of(self, grade_id: str) -> str:
        """The answer cell a grade cell checks: grade ids are ``<exercise>_<part>``."""
        found = [name for name in self.exercises if grade_id.startswith(name + "_")]
        if not found:
            raise KeyError(f"{grade_id!r} checks none of the exercises of {self.name}: {', '.join(self.exercises)}")
        return max(found, key=len)


def lesson(name: str) -> Lesson:
    """The declared lesson ``name``."""
    if name not in NAMES:
        raise KeyError(f"no lesson {name!r}: the lessons are {', '.join(NAMES)}")
    return importlib.import_module(f"autograder.learner.checks.{name}").LESSON


def lessons() -> dict[str, Lesson]:
    """Every lesson, by name, in course order."""
    return {name: lesson(name) for name in NAMES}


def start_lesson(name: str) -> ModuleType:
    """Start a lesson in a notebook: its checks, with the notebook's error display and, when graded, the fast mode."""
    from autograder.learner import fast_mode
    from autograder.learner.checks import install_ipython_display

    declared = lesson(name)
    install_ipython_display(declared.exercises)
    fast_mode.activate_if_grading()
    return declared.checks
