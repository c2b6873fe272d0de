"""The hidden tests' verdicts: the kernel's recordings against the reference, after the kernel has exited.

The recordings are what the learner's kernel wrote, so they are read as data (known names, bounded
sizes, no pickles: ``autograder.learner.checks.hidden.parse_recording``). The reference is the
lesson's ``solutions/<lesson>.py``, which arrives with the course's files as source text and is
loaded here, in the worker, never on a path a kernel could import from. A grade cell whose hidden
test fails scores 0, and the verdict goes into nbgrader's comment on the exercise's answer cell,
which the feedback shows.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import types
from pathlib import Path

from autograder.grader.folders import read_folder
from autograder.grader.limits import DEFAULT, Limits
from autograder.grader.payload import CourseFiles
from autograder.learner.checks import CheckFailed, hidden
from autograder.learner.i18n import message
from autograder.learner.lesson import lesson as declared

RECORDING_NAME = hidden.RECORDING_NAME
_references: dict[str, types.ModuleType] = {}


def load_recordings(folder: Path, limits: Limits = DEFAULT) -> dict[str, bytes | str]:
    """The hidden tests' recordings, validated: known names, plain files, bounded size."""
    collected = read_folder(folder, limits.replace(returned_file_bytes=limits.recording_bytes),
                            max_bytes=limits.recording_bytes * 16)
    return {name: data for name, data in collected.files.items() if RECORDING_NAME.match(name)}


def load_reference(course: CourseFiles) -> types.ModuleType:
    """The lesson's reference module, from the source the main process sent (once per worker and version)."""
    if course.digest not in _references:
        if not course.reference:
            raise RuntimeError(f"no reference solution was sent for {course.lesson}")
        module = types.ModuleType(f"solutions.{course.lesson}")
        module.__file__ = f"<solutions/{course.lesson}.py sent by the grader>"
        sys.modules[module.__name__] = module  # the reference's own classes pickle and introspect by module
        exec(compile(course.reference, module.__file__, "exec"), module.__dict__)  # noqa: S102 - the instructor's code
        _references[course.digest] = module
    return _references[course.digest]


def grade_cells(db: Path, lesson: str) -> list[str]:
    """The grade cells of ``lesson`` in a gradebook (the course's, without students), read-only."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT DISTINCT base_cell.name FROM grade_cells JOIN base_cell ON base_cell.id = grade_cells.id"
            " JOIN notebook ON notebook.id = base_cell.notebook_id JOIN assignment ON assignment.id ="
            " notebook.assignment_id WHERE assignment.name = ? ORDER BY base_cell.name", (lesson,))
        return [name for (name,) in rows]


def prepare_references(db: Path, course: CourseFiles, seed: int) -> None:
    """Build the reference's hidden-test outputs for every grade cell in ``db`` (kept for ``seed``).

    A first verdict otherwise pays for them (TensorFlow's import, a reference ResNet-50) inside a
    submission's task. A grade cell whose reference fails here is left to ``verify_hidden``, which says why.
    """
    lesson = declared(course.lesson)
    reference = load_reference(course)
    if lesson.prepare_hidden is None:
        return
    for grade_id in grade_cells(db, course.lesson):
        try:
            lesson.prepare_hidden(grade_id, reference, seed)
        except Exception:  # noqa: BLE001, S112 - the verdict of each submission reports it
            continue


def verify_hidden(db: Path, course: CourseFiles, student: str, recordings: dict[str, bytes | str],
                  seed: int) -> list[str]:
    """Zero every grade cell whose recorded hidden-test outputs disagree with the reference; the verdicts."""
    from nbgrader.api import Gradebook

    lesson, lang = declared(course.lesson), course.language
    reference = load_reference(course)
    os.environ["RESNET_COURSE_LANG"] = lang  # messages of the verdicts in the course's language
    notes: list[str] = []
    with Gradebook(f"sqlite:///{db}", course.course_id) as gb:
        for notebook in gb.find_submission(course.lesson, student).notebooks:
            verdicts: dict[str, list[str]] = {}
            for grade in notebook.grades:
                if not grade.auto_score:
                    continue
                reason = _verdict(lesson, grade.name, recordings, reference, seed)
                if reason is None:
                    continue
                grade.auto_score = 0
                verdict = f"{grade.name}: " + message("hidden_failed", lang, reason=reason)
                notes.append(verdict)
                verdicts.setdefault(lesson.exercise_of(grade.name), []).append(verdict)
            for answer, lines in verdicts.items():
                comment = gb.find_comment(answer, notebook.name, course.lesson, student)
                comment.auto_comment = "\n\n".join(([comment.auto_comment] if comment.auto_comment else []) + lines)
        gb.db.commit()
    return notes


def _verdict(lesson: object, grade_id: str, recordings: dict[str, bytes | str], reference: types.ModuleType,
             seed: int) -> str | None:
    """Why the hidden test of ``grade_id`` fails (None when it passes)."""
    try:
        recorded = hidden.parse_recording(recordings, grade_id)
        if isinstance(recorded, str):
            raise CheckFailed(recorded)
        lesson.verify_hidden(grade_id, recorded, reference, seed)  # type: ignore[attr-defined]
    except CheckFailed as failure:
        return str(failure)
    except Exception as error:  # noqa: BLE001 - a tampered recording must not stop the batch
        return f"unusable recording ({type(error).__name__}: {error})"
    return None
