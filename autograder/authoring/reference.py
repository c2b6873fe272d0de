"""The reference solutions (``solutions/``), for the tools that need them: authoring and the instructor's grader.

``solutions`` is never installed (``pyproject.toml`` leaves it out) and never reaches a course, a
learner's kernel or a grading worker's disk: the tools that need it import it from the repository
checkout (:func:`use_solutions`). Grading reads the source text of a lesson's reference
(``autograder.course.grade.course_files``) and sends it to each worker, which keeps it in memory.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from autograder import paths
from autograder.course import CourseError


def use_solutions() -> None:
    """Make ``solutions`` importable in this process only — never in a learner's kernel."""
    if not paths.SOLUTIONS.is_dir():
        raise CourseError("no_solutions", path=paths.SOLUTIONS)
    if str(paths.REPO) not in sys.path:
        sys.path.insert(0, str(paths.REPO))


def reference(lesson: str) -> ModuleType:
    """The lesson's reference module."""
    use_solutions()
    return importlib.import_module(f"solutions.{lesson}")

