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
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin

from autograder.course.scoreboard import Scoreboard, Student

MOODLE_FILE = "grades_moodle.csv"
CANVAS_FILE = "grades_canvas.csv"
# Formula characters at the start of a cell: a spreadsheet opening the file would run what follows.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def number(value: float) -> str:
    """A score both LMSs read: ``18``, ``13.5`` — a dot, whatever the locale (the course's one exception to its
    number format: these files are read by programs)."""
    return f"{round(value, 2):g}"


def cell(text: str) -> str:
    """A name or id as a CSV cell a spreadsheet will not evaluate (``=cmd()`` becomes ``'=cmd()``)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _db(gradebook: Gradebook) -> Path:
    """The file of an nbgrader gradebook (always SQLite here)."""
    return Path(gradebook.engine.url.database)


class _LmsExportPlugin(ExportPlugin):
    default_file = ""

    def _write(self, header: list[str], rows: list[list[str]]) -> None:
        destination = Path(self.to or self.default_file)
        self.log.info("Exporting grades to %s", destination)
        with open(destination, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)  # QUOTE_MINIMAL: "Smith, Jr." keeps its comma inside one field
            writer.writerow(header)
            writer.writerows([[cell(value) for value in row] for row in rows])

    def _table(self, gradebook: Gradebook) -> tuple[Scoreboard, list[str], list[Student]]:
        """The scoreboard, the lessons to export (someone submitted them) and the students to list."""
        board = Scoreboard.read(_db(gradebook))
        wanted = [str(a) for a in self.assignment]
        lessons = [lesson for lesson in board.submitted_lessons() if not wanted or lesson in wanted]
        students = [s for s in board.students if not self.student or s.id in [str(x) for x in self.student]]
        return board, lessons, students


class MoodleExportPlugin(_LmsExportPlugin):
    """A Moodle grade-import CSV (Grades → Import → CSV file)."""

    default_file = MOODLE_FILE

    def export(self, gradebook: Gradebook) -> None:
        board, lessons, students = self._table(gradebook)
        header = ["First name", "Last name", "Username", "User ID", "Email address", *lessons]
        self._write(header, [[s.first_name if s.has_name() else "", s.last_name if s.has_name() else s.id, s.id,
                              s.lms_user_id, s.email, *(number(board.final(s.id, lesson)) for lesson in lessons)]
                             for s in students])


class CanvasExportPlugin(_LmsExportPlugin):
    """A Canvas gradebook-import CSV (Grades → Import), in the layout of Canvas' own export."""

    default_file = CANVAS_FILE

    def export(self, gradebook: Gradebook) -> None:
        board, lessons, students = self._table(gradebook)
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *lessons]
        points = ["Points Possible", "", "", "", "", *(number(board.max_scores[lesson]) for lesson in lessons)]

        def name(s: Student) -> str:
            if not s.has_name():
                return s.id
            return ", ".join(part for part in (s.last_name.strip(), s.first_name.strip()) if part)

        self._write(header, [points] + [[name(s), s.lms_user_id, "", s.id, "",
                                         *(number(board.final(s.id, lesson)) for lesson in lessons)]
                                        for s in students])


def write_lms_exports(root: Path, course_id: str) -> list[Path]:
    """Write ``grades_moodle.csv`` and ``grades_canvas.csv`` in the course ``root``; return their paths."""
    root = Path(root).resolve()
    paths = [root / MOODLE_FILE, root / CANVAS_FILE]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id) as gb:
        for plugin, path in zip((MoodleExportPlugin, CanvasExportPlugin), paths, strict=True):
            plugin(to=str(path)).export(gb)
    return paths
