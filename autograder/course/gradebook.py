"""The course gradebook's one writer: the grading main process.

Workers grade in private gradebooks made from ``assignment_only`` and send back plain data
(``autograder.grader.task.read_grades``); ``Merger`` copies it into the course gradebook.
Merging must never be a class's bottleneck (10,000 submissions). nbgrader's ORM needs
~0.1–0.2 s a submission (it loads computed scores with every object), so rows are written
with plain SQL in nbgrader's own schema — ids are uuid4 hex strings as nbgrader makes them,
the assignment's cells are looked up once. Each submission is one savepoint, all or nothing;
the transaction is committed about once a second (a commit is a disk sync, ~5–25 ms here)
and when the writer is closed. The schema is nbgrader's, so the writer refuses a gradebook of
another schema version (``alembic_version``), and a test reads back with nbgrader's ORM what it wrote.

``grade`` and the grading service write the same gradebook: whoever writes holds
:func:`writing_lock` (an ``flock`` on ``.gradebook.lock`` in the course folder), so the two never
write at the same time.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from autograder.grader.payload import Grades, SubmissionKey

# The alembic revision of nbgrader 0.9's gradebook schema, the one the SQL below writes.
SCHEMA_VERSION = "e43177bfe90b"
STUDENT_TABLES = ("comment", "grade", "submitted_notebook", "submitted_assignment", "student")


class GradebookBusy(RuntimeError):
    """Another grader (a ``grade`` run, the grading service) is writing this course's gradebook."""


@contextlib.contextmanager
def writing_lock(root: Path, wait: bool = True) -> Iterator[None]:
    """Hold the course's gradebook for writing; with ``wait`` False, GradebookBusy when someone else does."""
    with open(root / ".gradebook.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise GradebookBusy(f"the gradebook of {root} is being written by another grader") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def gradebook_without_students(db: Path) -> bytes:
    """A copy of the gradebook with the assignments and their cells but no student or submission."""
    with tempfile.TemporaryDirectory(prefix="autograder-gradebook-") as scratch:
        copy = Path(scratch) / "gradebook.db"
        shutil.copy2(db, copy)
        connection = sqlite3.connect(copy)
        try:
            for table in STUDENT_TABLES:
                connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            connection.commit()
            connection.execute("VACUUM")
        finally:
            connection.close()
        return copy.read_bytes()


def _timestamp(value: str | None) -> str | None:
    """ISO text as SQLAlchemy stores a DateTime in SQLite."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S.%f")


class GradebookWriter:
    """Writes workers' results into the course gradebook (main process only)."""

    def __init__(self, db: Path, commit_every: float = 1.0) -> None:
        self.db = sqlite3.connect(db, timeout=60, isolation_level=None)  # transactions managed below
        found = self.db.execute("SELECT version_num FROM alembic_version").fetchone()
        if found is None or found[0] != SCHEMA_VERSION:
            self.db.close()
            raise RuntimeError(f"{db} has gradebook schema {found and found[0]}, not nbgrader 0.9's {SCHEMA_VERSION}: "
                               "this version of the course writes only nbgrader 0.9 gradebooks")
        self.commit_every = commit_every
        self._in_transaction = False
        self._committed_at = time.monotonic()
        self._assignments: dict[str, str] = {}
        self._cells: dict[str, dict[str, tuple[str, dict[str, str], dict[str, str]]]] = {}

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[None]:
        """One submission's writes: all of them or none; committed with the others about once a second."""
        if not self._in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
        self.db.execute("SAVEPOINT submission")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO submission")
            self.db.execute("RELEASE submission")
            raise
        self.db.execute("RELEASE submission")
        if time.monotonic() - self._committed_at >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        if self._in_transaction:
            self.db.execute("COMMIT")
            self._in_transaction = False
        self._committed_at = time.monotonic()

    def close(self) -> None:
        self.commit()
        self.db.close()

    def __enter__(self) -> GradebookWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lesson(self, lesson: str) -> tuple[str, dict[str, tuple[str, dict[str, str], dict[str, str]]]]:
        """The assignment's id and, per notebook name, its id and its grade and solution cells' ids."""
        if lesson not in self._assignments:
            row = self.db.execute("SELECT id FROM assignment WHERE name = ?", (lesson,)).fetchone()
            if row is None:
                raise KeyError(f"no assignment {lesson!r} in the gradebook")
            self._assignments[lesson] = row[0]
            notebooks = {}
            for notebook_id, name in self.db.execute("SELECT id, name FROM notebook WHERE assignment_id = ?", row):
                cells = self.db.execute(
                    "SELECT base_cell.id, base_cell.name, base_cell.type FROM base_cell WHERE notebook_id = ?",
                    (notebook_id,)).fetchall()
                notebooks[name] = (notebook_id, {n: i for i, n, t in cells if t == "GradeCell"},
                                   {n: i for i, n, t in cells if t == "SolutionCell"})
            self._cells[lesson] = notebooks
        return self._assignments[lesson], self._cells[lesson]

    def register_student(self, student: str) -> None:
        """Make sure the student exists; formgrader shows "last, first", so an unnamed one is shown by id."""
        with self._savepoint():
            self._register(student)

    def _register(self, student: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO student (id, first_name, last_name) VALUES (?, '', ?)",
                        (student, student))
        self.db.execute("UPDATE student SET first_name = '', last_name = id WHERE id = ? AND "
                        "COALESCE(first_name, '') = '' AND COALESCE(last_name, '') = ''", (student,))

    def _submission(self, lesson: str, student: str) -> dict[str, str]:
        """The submitted notebooks' ids by name, every grade and comment row created if new."""
        assignment, notebooks = self._lesson(lesson)
        self._register(student)
        row = self.db.execute("SELECT id FROM submitted_assignment WHERE assignment_id = ? AND student_id = ?",
                              (assignment, student)).fetchone()
        if row:
            submitted = dict(self.db.execute(
                "SELECT notebook.name, submitted_notebook.id FROM submitted_notebook JOIN notebook "
                "ON notebook.id = submitted_notebook.notebook_id WHERE submitted_notebook.assignment_id = ?", row))
            if set(submitted) == set(notebooks):
                return submitted
            self._delete(row[0])  # an assignment changed since (notebooks added): recreate its rows
        submission_id = uuid.uuid4().hex
        self.db.execute("INSERT INTO submitted_assignment (id, assignment_id, student_id) VALUES (?, ?, ?)",
                        (submission_id, assignment, student))
        submitted = {}
        for name, (notebook_id, grade_cells, solution_cells) in notebooks.items():
            submitted[name] = uuid.uuid4().hex
            self.db.execute("INSERT INTO submitted_notebook (id, assignment_id, notebook_id, flagged) "
                            "VALUES (?, ?, ?, 0)", (submitted[name], submission_id, notebook_id))
            self.db.executemany("INSERT INTO grade (id, notebook_id, cell_id, needs_manual_grade) VALUES (?, ?, ?, 0)",
                                [(uuid.uuid4().hex, submitted[name], cell) for cell in grade_cells.values()])
            self.db.executemany("INSERT INTO comment (id, notebook_id, cell_id) VALUES (?, ?, ?)",
                                [(uuid.uuid4().hex, submitted[name], cell) for cell in solution_cells.values()])
        return submitted

    def _delete(self, submission_id: str) -> None:
        notebooks = [row[0] for row in self.db.execute("SELECT id FROM submitted_notebook WHERE assignment_id = ?",
                                                       (submission_id,))]
        for table in ("grade", "comment"):
            self.db.executemany(f"DELETE FROM {table} WHERE notebook_id = ?",  # noqa: S608 - fixed names
                                [(n,) for n in notebooks])
        self.db.execute("DELETE FROM submitted_notebook WHERE assignment_id = ?", (submission_id,))
        self.db.execute("DELETE FROM submitted_assignment WHERE id = ?", (submission_id,))

    def merge(self, key: SubmissionKey, grades: Grades) -> None:
        """Set every grade and comment of the submission to what the worker found."""
        with self._savepoint():
            submitted = self._submission(key.lesson, key.student)
            _, notebooks = self._lesson(key.lesson)
            self.db.execute("UPDATE submitted_assignment SET timestamp = ? WHERE id = (SELECT assignment_id FROM "
                            "submitted_notebook WHERE id = ?)",
                            (_timestamp(grades.timestamp), next(iter(submitted.values()))))
            for name, notebook in grades.notebooks.items():
                notebook_id, grade_cells, solution_cells = notebooks[name]
                self.db.execute("UPDATE submitted_notebook SET flagged = ?, late_submission_penalty = ? WHERE id = ?",
                                (int(notebook.flagged), notebook.late_penalty, submitted[name]))
                self.db.executemany(
                    "UPDATE grade SET auto_score = ?, manual_score = ?, extra_credit = ?, needs_manual_grade = ? "
                    "WHERE notebook_id = ? AND cell_id = ?",
                    [(grade.auto, grade.manual, grade.extra, int(grade.needs_manual), submitted[name],
                      grade_cells[cell]) for cell, grade in notebook.grades.items()])
                self.db.executemany(
                    "UPDATE comment SET auto_comment = ?, manual_comment = ? WHERE notebook_id = ? AND cell_id = ?",
                    [(comment.auto, comment.manual, submitted[name], solution_cells[cell])
                     for cell, comment in notebook.comments.items()])

    def record_zero(self, key: SubmissionKey) -> None:
        """A submission that could not be graded: every grade 0, never left out."""
        with self._savepoint():
            submitted = self._submission(key.lesson, key.student)
            self.db.executemany("UPDATE grade SET auto_score = 0, manual_score = NULL, extra_credit = NULL, "
                                "needs_manual_grade = 0 WHERE notebook_id = ?", [(n,) for n in submitted.values()])
