"""The gradebook's one writer, the scoreboard, the report and the LMS files, on a gradebook nbgrader made.

No kernel runs: nbgrader's own API creates a small course's gradebook (two lessons, grade and answer
cells), the writer merges synthetic outcomes into it, and nbgrader's ORM and its ``grades.csv`` export
read back what was written.
"""

from __future__ import annotations

import csv
import datetime
import io
import threading
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from autograder.course.gradebook import GradebookBusy, GradebookWriter, gradebook_without_students, writing_lock
from autograder.course.lms import CanvasExportPlugin, MoodleExportPlugin, cell
from autograder.course.report import failure_groups, score_text, write_report
from autograder.course.scoreboard import Scoreboard
from autograder.grader.payload import CellComment, CellGrade, Grades, NotebookGrades, SubmissionKey

COURSE = "course-1"
CELLS = {"lesson_a": {"ex_check1": 2.0, "ex_check2": 3.0}, "lesson_b": {"other_check": 4.0}}
ANSWERS = {"lesson_a": "ex", "lesson_b": "other"}


@pytest.fixture
def gradebook(tmp_path: Path) -> Path:
    db = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{db}", COURSE) as gb:
        for lesson, cells in CELLS.items():
            gb.add_assignment(lesson, duedate=datetime.datetime(2026, 1, 1))
            gb.add_notebook(lesson, lesson)
            gb.add_solution_cell(ANSWERS[lesson], lesson, lesson)
            gb.add_source_cell(ANSWERS[lesson], lesson, lesson, cell_type="code")
            for name, points in cells.items():
                gb.add_grade_cell(name, lesson, lesson, max_score=points, cell_type="code")
                gb.add_source_cell(name, lesson, lesson, cell_type="code")
    return db


def grades(lesson: str, scores: dict[str, float | None], penalty: float = 0.0, comment: str = "ok") -> Grades:
    return Grades("2026-01-02T03:04:05", {lesson: NotebookGrades(
        flagged=False, late_penalty=penalty,
        grades={name: CellGrade(score) for name, score in scores.items()},
        comments={ANSWERS[lesson]: CellComment(comment)})})


def test_what_the_writer_merges_is_what_nbgraders_orm_reads(gradebook: Path) -> None:
    key = SubmissionKey("alice", "lesson_a")
    with GradebookWriter(gradebook) as writer:
        writer.register_student("alice")
        writer.merge(key, grades("lesson_a", {"ex_check1": 2.0, "ex_check2": 0.0}, penalty=1.0, comment="hidden: no"))
        writer.merge(key, grades("lesson_a", {"ex_check1": 2.0, "ex_check2": 3.0}))  # a re-grade replaces it
        writer.record_zero(SubmissionKey("bob", "lesson_b"))
    with Gradebook(f"sqlite:///{gradebook}", COURSE) as gb:
        alice = gb.find_submission("lesson_a", "alice")
        assert alice.score == 5.0 and alice.late_submission_penalty == 0.0
        assert alice.timestamp == datetime.datetime(2026, 1, 2, 3, 4, 5)
        assert gb.find_comment("ex", "lesson_a", "lesson_a", "alice").auto_comment == "ok"
        assert gb.find_student("alice").last_name == "alice"  # formgrader shows the id, not "alice, "
        assert gb.find_submission("lesson_b", "bob").score == 0.0


def test_the_writer_refuses_a_gradebook_of_another_schema(gradebook: Path) -> None:
    import sqlite3

    with sqlite3.connect(gradebook) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'somethingelse'")
    with pytest.raises(RuntimeError, match="somethingelse"):
        GradebookWriter(gradebook)


def test_the_scoreboard_says_what_nbgraders_grades_csv_says(gradebook: Path, tmp_path: Path) -> None:
    with GradebookWriter(gradebook) as writer:
        for student in ("alice", "bob", "carol"):
            writer.register_student(student)
        writer.merge(SubmissionKey("alice", "lesson_a"), grades("lesson_a", {"ex_check1": 2.0, "ex_check2": 1.5}))
        writer.merge(SubmissionKey("bob", "lesson_a"), grades("lesson_a", {"ex_check1": 2.0, "ex_check2": 3.0},
                                                              penalty=6.0))
        writer.merge(SubmissionKey("alice", "lesson_b"), grades("lesson_b", {"other_check": None}))
    csv_path = tmp_path / "grades.csv"
    with Gradebook(f"sqlite:///{gradebook}", COURSE) as gb:
        CsvExportPlugin(to=str(csv_path)).export(gb)
    with open(csv_path, newline="") as file:
        nbgrader_says = {(row["student_id"], row["assignment"]): (float(row["raw_score"]), float(row["score"]),
                                                                 float(row["max_score"]))
                         for row in csv.DictReader(file)}
    board = Scoreboard.read(gradebook)
    for (student, lesson), (raw, final, maximum) in nbgrader_says.items():
        assert board.final(student, lesson) == final, (student, lesson)
        row = next((row for row in board.rows if row.key == SubmissionKey(student, lesson)), None)
        if row is not None:
            assert (row.raw, row.max_score) == (raw, maximum)
    assert board.cells["lesson_a/ex_check2"] == (1, 2)  # alice's 1.5 of 3 did not pass, bob's did
    assert score_text(next(r for r in board.rows if r.key.student == "bob"), "ru") == "0 / 5 (штраф за опоздание −6)"


def test_report_and_lms_files_come_from_the_scoreboard(gradebook: Path, tmp_path: Path) -> None:
    with GradebookWriter(gradebook) as writer:
        writer.register_student("=HYPERLINK(1)")
        writer.merge(SubmissionKey("=HYPERLINK(1)", "lesson_a"), grades("lesson_a", {"ex_check1": 2, "ex_check2": 0}))
    board = Scoreboard.read(gradebook)
    failures = {"=HYPERLINK(1)/lesson_a": ["check — Expected 3 values, found 4 <img src=x onerror=1>"]}
    report = write_report(tmp_path, board, {"=HYPERLINK(1)/lesson_a": ["note \x1b[31m|x"]}, failures, True, "ru")
    text = report.read_text(encoding="utf-8")
    assert "| =HYPERLINK(1) | lesson_a | 2 / 5 | note \\x1b[31m\\|x |" in text
    assert "Expected N values, found N &lt;img src=x onerror=N&gt;" in text and "<img" not in text.split("![")[0]
    assert "Медиана: 40\u00a0%" in text
    assert failure_groups(failures).most_common(1)[0][1] == 1
    with Gradebook(f"sqlite:///{gradebook}", COURSE) as gb:
        MoodleExportPlugin(to=str(tmp_path / "moodle.csv")).export(gb)
        CanvasExportPlugin(to=str(tmp_path / "canvas.csv")).export(gb)
    moodle = list(csv.reader(io.StringIO((tmp_path / "moodle.csv").read_text())))
    assert moodle == [["First name", "Last name", "Username", "User ID", "Email address", "lesson_a"],
                      ["", "'=HYPERLINK(1)", "'=HYPERLINK(1)", "", "", "2"]]
    canvas = list(csv.reader(io.StringIO((tmp_path / "canvas.csv").read_text())))
    assert canvas[1] == ["Points Possible", "", "", "", "", "5"] and canvas[2][-1] == "2"
    assert cell("+1") == "'+1" and cell("bob") == "bob"


def test_workers_get_a_gradebook_without_students(gradebook: Path, tmp_path: Path) -> None:
    with GradebookWriter(gradebook) as writer:
        writer.merge(SubmissionKey("alice", "lesson_a"), grades("lesson_a", {"ex_check1": 2.0, "ex_check2": 3.0}))
    copy = tmp_path / "copy.db"
    copy.write_bytes(gradebook_without_students(gradebook))
    with Gradebook(f"sqlite:///{copy}", COURSE) as gb:
        assert gb.students == [] and [a.name for a in gb.assignments] == ["lesson_a", "lesson_b"]


def test_two_graders_never_write_at_once(tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with writing_lock(tmp_path):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    with pytest.raises(GradebookBusy):
        with writing_lock(tmp_path, wait=False):
            pass
    release.set()
    holder.join()
    with writing_lock(tmp_path, wait=False):
        pass
