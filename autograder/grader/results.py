"""Reading a finished job's results on the worker: its grades, why its kernel died, what was left out.

Everything here reads files the trusted side of the job wrote (nbgrader's private gradebook, the
executor's report, the job's summary), outside the learner's sandbox.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from autograder.grader.folders import Collected, LeftOut, left_out_notes
from autograder.grader.limits import Limits
from autograder.grader.payload import CellComment, CellGrade, Grades, NotebookGrades


def read_grades(db: Path, course_id: str, lesson: str, student: str) -> Grades:
    """The submission's grades and comments in a private gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", course_id) as gb:
        submission = gb.find_submission(lesson, student)
        notebooks = {
            notebook.name: NotebookGrades(
                flagged=bool(notebook.flagged),
                late_penalty=notebook.late_submission_penalty,
                grades={g.name: CellGrade(g.auto_score, g.manual_score, g.extra_credit, bool(g.needs_manual_grade))
                        for g in notebook.grades},
                comments={c.name: CellComment(c.auto_comment, c.manual_comment) for c in notebook.comments},
            )
            for notebook in submission.notebooks
        }
        timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        return Grades(timestamp, notebooks)


def kernel_report(report: Path) -> dict:
    """What the executor wrote about the kernel (peak memory, its death, files it deleted), or nothing."""
    return json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}


def kernel_death(report: Path) -> list[str]:
    """Why the kernel died, if it did."""
    death = kernel_report(report).get("death")
    return [death["reason"]] if death else []


def left_out(summary: Path, lang: str, limits: Limits) -> list[str]:
    """One note per kind of file the job did not keep (its summary counts them)."""
    kinds = json.loads(summary.read_text(encoding="utf-8"))["left_out"]
    return left_out_notes(Collected(left_out={kind: LeftOut(**value) for kind, value in kinds.items()}), lang,
                          limits)


def log_tail(path: Path, limit: int) -> str:
    """The end of nbgrader's log of a job (at most ``limit`` bytes)."""
    if not path.is_file():
        return ""
    with open(path, "rb") as log:
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - limit))
        return log.read().decode("utf-8", "replace")


def failing_checks(notebook: bytes) -> list[str]:
    """The first line of each failing grade cell's error in a graded notebook (for the class report)."""
    found = []
    for cell in json.loads(notebook).get("cells", []):
        if cell.get("cell_type") != "code" or not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                text = output.get("evalue") or output.get("ename") or ""
                found.append(text.splitlines()[0] if text else "")
                break
    return found
