"""Grades for a learning management system: a Moodle and a Canvas grade-import CSV.

Both are nbgrader export plugins, so an instructor can also write them with nbgrader itself:

    nbgrader export --exporter=autograder.course.lms.MoodleExportPlugin --to grades_moodle.csv
    nbgrader export --exporter=autograder.course.lms.CanvasExportPlugin --to grades_canvas.csv

One row per student, one column per lesson someone has submitted, holding the final score as
nbgrader's ``grades.csv`` has it (raw score minus late penalty, never below 0; 0 without a
submission).
Fields are quoted by the ``csv`` module, so a comma or a quote in a name stays in its column.

* Moodle ("Import grades from CSV"): ``First name``, ``Last name``, ``Username`` (nbgrader's
  student id), ``User ID`` (nbgrader's ``lms_user_id`` where known) and ``Email address``
  identify the student — map one of them to username, user id or email address; each lesson
  column maps to a grade item (or a new one, named after the lesson).
* Canvas (Grades → Import): the columns of Canvas' own gradebook export, ``Student``
  ("Last, First", else the student id), ``ID`` (Canvas user id = ``lms_user_id`` where known),
  ``SIS User ID``, ``SIS Login ID`` (nbgrader's student id) and ``Section``, then one column per
  lesson, and a ``Points Possible`` row giving each lesson's maximum.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

MOODLE_FILE = "grades_moodle.csv"
CANVAS_FILE = "grades_canvas.csv"


@dataclass
class StudentRow:
    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    scores: dict[str, float] = field(default_factory=dict)

    def has_name(self) -> bool:
        """Whether a real name is known (not only the student id, which grading puts in last_name)."""
        return bool(self.first_name.strip() or (self.last_name.strip() and self.last_name != self.id))


def number(value: float) -> str:
    """A score both LMSs read: ``18``, ``13.5`` (a dot, whatever the locale)."""
    return f"{round(value, 2):g}"


def gradebook_rows(gb: Gradebook, students: list[str] | None = None,
                   assignments: list[str] | None = None) -> tuple[list[tuple[str, float]], list[StudentRow]]:
    """(lesson, max score) per graded lesson and the final score of every student in each.

    The same numbers as nbgrader's CsvExportPlugin: ``max(0, score - late penalty)``, 0 where
    a student has no submission. A lesson nobody has submitted yet is left out: its zeros
    would overwrite the LMS's gradebook before the lesson was even handed out.
    """
    lessons = sorted((a.name, a.max_score) for a in gb.assignments
                     if a.submissions and (not assignments or a.name in assignments))
    rows = []
    for student in gb.students:
        if students and student.id not in students:
            continue
        row = StudentRow(student.id, student.first_name or "", student.last_name or "", student.email or "",
                         student.lms_user_id or "")
        for lesson, _ in lessons:
            try:
                submission = gb.find_submission(lesson, student.id)
            except MissingEntry:
                row.scores[lesson] = 0.0
            else:
                row.scores[lesson] = max(0.0, submission.score - (submission.late_submission_penalty or 0.0))
        rows.append(row)
    return lessons, sorted(rows, key=lambda r: r.id)


class _LmsExportPlugin(ExportPlugin):
    default_file = ""

    def _write(self, header: list[str], rows: list[list[str]]) -> None:
        destination = Path(self.to or self.default_file)
        self.log.info("Exporting grades to %s", destination)
        with open(destination, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)  # QUOTE_MINIMAL: "Smith, Jr." keeps its comma inside one field
            writer.writerow(header)
            writer.writerows(rows)

    def _table(self, gb: Gradebook) -> tuple[list[tuple[str, float]], list[StudentRow]]:
        return gradebook_rows(gb, [str(s) for s in self.student], [str(a) for a in self.assignment])


class MoodleExportPlugin(_LmsExportPlugin):
    """A Moodle grade-import CSV (Grades → Import → CSV file)."""

    default_file = MOODLE_FILE

    def export(self, gradebook: Gradebook) -> None:
        lessons, students = self._table(gradebook)
        header = ["First name", "Last name", "Username", "User ID", "Email address", *(name for name, _ in lessons)]
        self._write(header, [[s.first_name if s.has_name() else "", s.last_name if s.has_name() else s.id, s.id,
                              s.lms_user_id, s.email, *(number(s.scores[name]) for name, _ in lessons)]
                             for s in students])


class CanvasExportPlugin(_LmsExportPlugin):
    """A Canvas gradebook-import CSV (Grades → Import), in the layout of Canvas' own export."""

    default_file = CANVAS_FILE

    def export(self, gradebook: Gradebook) -> None:
        lessons, students = self._table(gradebook)
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *(name for name, _ in lessons)]
        points = ["Points Possible", "", "", "", "", *(number(maximum) for _, maximum in lessons)]

        def name(s: StudentRow) -> str:
            if not s.has_name():
                return s.id
            return ", ".join(part for part in (s.last_name.strip(), s.first_name.strip()) if part)

        self._write(header, [points] + [[name(s), s.lms_user_id, "", s.id, "",
                                         *(number(s.scores[lesson]) for lesson, _ in lessons)] for s in students])


def write_lms_exports(root: Path) -> list[Path]:
    """Write ``grades_moodle.csv`` and ``grades_canvas.csv`` in the course ``root``; return their paths."""
    from autograder.course.build import read_course

    root = Path(root).resolve()
    paths = [root / MOODLE_FILE, root / CANVAS_FILE]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", read_course(root)["course_id"]) as gb:
        for plugin, path in zip((MoodleExportPlugin, CanvasExportPlugin), paths, strict=True):
            plugin(to=str(path)).export(gb)
    return paths
