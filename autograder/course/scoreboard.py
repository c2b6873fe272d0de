"""The class's scores, read once from the gradebook: what the console table, the report and the LMS files show.

nbgrader's ORM computes scores object by object (~0.1 s a submission); this is a few joined SQL
queries over nbgrader's own schema, in the spirit of nbgrader's ``Gradebook.submission_dicts``. A
submission's score follows nbgrader: a cell counts its manual score if there is one, else its
automatic score, plus extra credit; the final score is the raw score minus the late penalty, never
below 0 — computed here, once (:attr:`Row.final`). A test keeps it equal to nbgrader's ``grades.csv``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grader.payload import SubmissionKey

CELL_SCORES = """
SELECT student.id, assignment.name, base_cell.name, COALESCE(grade_cells.max_score, task_cells.max_score, 0),
       CASE WHEN grade.manual_score IS NOT NULL THEN grade.manual_score ELSE COALESCE(grade.auto_score, 0) END
       + COALESCE(grade.extra_credit, 0)
FROM grade
JOIN submitted_notebook ON submitted_notebook.id = grade.notebook_id
JOIN submitted_assignment ON submitted_assignment.id = submitted_notebook.assignment_id
JOIN assignment ON assignment.id = submitted_assignment.assignment_id
JOIN student ON student.id = submitted_assignment.student_id
JOIN base_cell ON base_cell.id = grade.cell_id
LEFT JOIN grade_cells ON grade_cells.id = base_cell.id
LEFT JOIN task_cells ON task_cells.id = base_cell.id
"""
SUBMISSIONS = """
SELECT student.id, assignment.name, submitted_assignment.timestamp,
       (SELECT COALESCE(SUM(submitted_notebook.late_submission_penalty), 0) FROM submitted_notebook
        WHERE submitted_notebook.assignment_id = submitted_assignment.id)
FROM submitted_assignment
JOIN assignment ON assignment.id = submitted_assignment.assignment_id
JOIN student ON student.id = submitted_assignment.student_id
"""
MAX_SCORES = """
SELECT assignment.name, COALESCE(SUM(COALESCE(grade_cells.max_score, task_cells.max_score, 0)), 0)
FROM assignment
LEFT JOIN notebook ON notebook.assignment_id = assignment.id
LEFT JOIN base_cell ON base_cell.notebook_id = notebook.id
LEFT JOIN grade_cells ON grade_cells.id = base_cell.id
LEFT JOIN task_cells ON task_cells.id = base_cell.id
GROUP BY assignment.name
"""
STUDENTS = "SELECT id, first_name, last_name, email, lms_user_id FROM student ORDER BY id"


@dataclass(frozen=True)
class Row:
    """One submission's scores."""

    key: SubmissionKey
    raw: float
    penalty: float
    max_score: float
    timestamp: str | None = None

    @property
    def final(self) -> float:
        """What nbgrader's grades.csv says: the raw score less the late penalty, never below 0."""
        return max(0.0, self.raw - self.penalty)


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str

    def has_name(self) -> bool:
        """Whether a real name is known (not only the student id, which grading puts in last_name)."""
        return bool(self.first_name.strip() or (self.last_name.strip() and self.last_name != self.id))


@dataclass
class Scoreboard:
    rows: list[Row] = field(default_factory=list)  # one per submission, by lesson then student
    cells: dict[str, tuple[int, int]] = field(default_factory=dict)  # "lesson/grade cell": (passed, submissions)
    max_scores: dict[str, float] = field(default_factory=dict)  # per lesson
    students: list[Student] = field(default_factory=list)

    @classmethod
    def read(cls, db: Path) -> Scoreboard:
        """The whole class, from the gradebook ``db`` (opened read-only)."""
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            board = cls(max_scores=dict(connection.execute(MAX_SCORES).fetchall()),
                        students=[Student(*(value or "" for value in row)) for row in connection.execute(STUDENTS)])
            raw: dict[tuple[str, str], float] = {}
            for student, lesson, cell, maximum, score in connection.execute(CELL_SCORES):
                raw[(student, lesson)] = raw.get((student, lesson), 0.0) + score
                passed, total = board.cells.get(f"{lesson}/{cell}", (0, 0))
                board.cells[f"{lesson}/{cell}"] = (passed + (score >= maximum), total + 1)
            for student, lesson, timestamp, penalty in connection.execute(SUBMISSIONS):
                board.rows.append(Row(SubmissionKey(student, lesson), raw.get((student, lesson), 0.0), penalty or 0.0,
                                      board.max_scores.get(lesson, 0.0), timestamp))
        finally:
            connection.close()
        board.rows.sort(key=lambda row: (row.key.lesson, row.key.student))
        return board

    def final(self, student: str, lesson: str) -> float:
        """A student's final score in a lesson; 0 without a submission (as grades.csv)."""
        return next((row.final for row in self.rows if row.key == SubmissionKey(student, lesson)), 0.0)

    def submitted_lessons(self) -> list[str]:
        """The lessons somebody has submitted (a lesson nobody has must not send zeros to an LMS)."""
        return sorted({row.key.lesson for row in self.rows})
