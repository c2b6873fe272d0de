"""What grading leaves for the instructor besides the gradebook: the class report, the LMS files, the console table.

All three read the same :class:`~autograder.course.scoreboard.Scoreboard`, once, after the gradebook
was written (``grade`` at the end of a batch, the grading service after each submission).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.course.grade import read_notes
from autograder.course.lms import write_lms_exports
from autograder.course.report import score_text, write_report
from autograder.course.scoreboard import Scoreboard
from autograder.grader.sanitize import terminal_safe


@dataclass(frozen=True)
class Outputs:
    board: Scoreboard
    report: Path
    lms: list[Path]


def write_outputs(root: Path, course: dict, sandboxed: bool) -> Outputs:
    """Rewrite ``report.md``/``report.png`` and the LMS files from the gradebook as it is now."""
    board = Scoreboard.read(root / "gradebook.db")
    found = read_notes(root)
    notes = {key: value["notes"] for key, value in found.items()}
    failures = {key: value["failures"] for key, value in found.items()}
    report = write_report(root, board, notes, failures, sandboxed, course["language"])
    return Outputs(board, report, write_lms_exports(root, course["course_id"]))


def score_table(board: Scoreboard, notes: dict[str, list[str]]) -> list[str]:
    """The final scores as the console shows them (as grades.csv has them), ``score / max`` first, notes last."""
    students = {row.key: terminal_safe(row.key.student, one_line=True) for row in board.rows}  # learner text
    width = max([len(name) for name in students.values()] + [7])
    scores = {row.key: score_text(row) for row in board.rows}
    score_width = max([len(text) for text in scores.values()] + [11])
    lines = [f"{'student':<{width}}  {'lesson':<18}  {'score':<{score_width}}  notes"]
    for row in board.rows:
        note = terminal_safe("; ".join(notes.get(str(row.key), [])), one_line=True)
        lines.append(f"{students[row.key]:<{width}}  {row.key.lesson:<18}  {scores[row.key]:<{score_width}}  "
                     f"{note[:100]}")
    return lines
