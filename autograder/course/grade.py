"""``python -m autograder grade DIR [--jobs N | --scheduler ADDRESS]``: autograde every submission with real nbgrader.

The shape (see ``autograder.course.task``): each submission is one Dask task whose inputs
and outputs are bytes — the submission in; the graded folder, its feedback HTML, grades and
comments, statistics out. The task runs ``nbgrader autograde`` in a temporary folder on the
worker, with the learner's kernel in the bubblewrap sandbox (``autograder.course.sandbox``),
and checks the hidden tests there after the kernel has exited. This main process is the only
writer of the course gradebook (``autograder.course.gradebook``) and of the course folder.
A submission that cannot be graded (missing, not a notebook, its worker lost too often) is
recorded with zero points and the reason — never dropped.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from distributed import as_completed
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker
from tqdm import tqdm

from autograder.course import CourseError
from autograder.course.build import nbgrader, read_course
from autograder.course.cluster import RemoteCluster
from autograder.course.gradebook import Merger, assignment_only
from autograder.course.permissions import repair
from autograder.course.task import CourseFiles, SubmissionInput, TaskResult, grade_submission
from autograder.course.version import fingerprint
from autograder.grader.folders import read_folder, write_folder
from autograder.grader.limits import DEFAULT, Limits
from autograder.grader.sanitize import terminal_safe

NOTES = "grading_notes.json"
STATS = "grading_stats.json"


@dataclass
class Submission:
    student: str
    lesson: str
    notebook: Path
    problem: str = ""  # why it cannot be graded at all, if it cannot


def find_submissions(root: Path, lessons: list[str]) -> list[Submission]:
    found = []
    for student_dir in sorted(p for p in (root / "submitted").glob("*") if p.is_dir()):
        for lesson in lessons:
            folder = student_dir / lesson
            if not folder.is_dir():
                continue
            notebook = folder / f"{lesson}.ipynb"
            submission = Submission(student_dir.name, lesson, notebook)
            if notebook.is_symlink() or not notebook.is_file():
                submission.problem = f"no notebook {notebook.name} in the submission"
            else:
                try:
                    nbformat.read(notebook, as_version=4)
                except Exception as error:  # noqa: BLE001 - any unreadable file is reported the same way
                    submission.problem = f"{notebook.name} is not a valid notebook ({type(error).__name__})"
            found.append(submission)
    return found


def course_files(root: Path, course: dict, lesson: str) -> CourseFiles:
    """What a worker needs of the course for one lesson (read as plain files, links left out)."""
    source = read_folder(root / "source" / lesson, DEFAULT.replace(returned_file_bytes=2**31), max_bytes=2**31).files
    files = {f"source/{lesson}/{name}": data for name, data in source.items()}
    files["nbgrader_config.py"] = (root / "nbgrader_config.py").read_bytes()
    files["gradebook.db"] = assignment_only(root / "gradebook.db")
    return CourseFiles(course["course_id"], lesson, course["language"], files)


def submission_files(submission: Submission, lesson_files: frozenset[str] = frozenset(),
                     limits: Limits = DEFAULT) -> dict[str, bytes]:
    """The submitted files a worker needs: not the lesson's runtime and data (nbgrader copies them from source/)."""
    return read_folder(submission.notebook.parent, limits, skip=lesson_files, max_bytes=limits.submission_bytes,
                       max_files=limits.submission_files).files


def lesson_files(course: CourseFiles) -> frozenset[str]:
    """The lesson's files besides its notebook, relative to the lesson's folder."""
    prefix = f"source/{course.lesson}/"
    return frozenset(name[len(prefix):] for name in course.files
                     if name.startswith(prefix) and not name.endswith(".ipynb"))


def _failure_reason(error: BaseException) -> str:
    from autograder.course.cluster import ALLOWED_FAILURES

    if isinstance(error, KilledWorker):
        return (f"not graded: the worker grading it was lost {ALLOWED_FAILURES + 1} times (killed, out of memory "
                "or machine gone)")
    if isinstance(error, FutureCancelledError):
        return "not graded: the grading task was cancelled"
    return f"not graded: {type(error).__name__}: {error}"


class _CourseWriter:
    """Everything that writes the course folder and gradebook, in this process only."""

    def __init__(self, root: Path, merger: Merger, notes: dict[str, list[str]]) -> None:
        self.root, self.merger, self.notes = root, merger, notes
        self.stats: dict[str, dict[str, float]] = {}

    def record_zero(self, submission: Submission, reason: str) -> None:
        self.merger.record_zero(submission.lesson, submission.student)
        self.notes[f"{submission.student}/{submission.lesson}"] = [reason]
        print(terminal_safe(f"{submission.student}/{submission.lesson}: {reason}", one_line=True), file=sys.stderr)

    def accept(self, submission: Submission, result: TaskResult) -> None:
        key = f"{submission.student}/{submission.lesson}"
        started = time.perf_counter()
        if result.failure:
            self.record_zero(submission, f"not graded: {result.failure}")
            if result.log:  # why, in nbgrader's words, beside where the graded notebook would be
                write_folder(self.root / "autograded" / submission.student / submission.lesson,
                             {f"{submission.lesson}.autograde.log": result.log.encode("utf-8")})
        else:
            self.merger.merge(submission.lesson, submission.student, result.grades)
            graded = dict(result.graded)
            graded[f"{submission.lesson}.autograde.log"] = result.log.encode("utf-8")  # nbgrader's log, its end
            write_folder(self.root / "autograded" / submission.student / submission.lesson, graded)
            write_folder(self.root / "feedback" / submission.student / submission.lesson, result.feedback)
            self.notes[key] = result.notes
        self.stats[key] = result.stats | {"main_thread_seconds": round(time.perf_counter() - started, 3)}


def grade(root: Path, jobs: int = 1, limits: Limits = DEFAULT, progress: bool = True,
          remote: RemoteCluster | None = None, sandbox: bool = True, show_dashboard: bool = False,
          ) -> dict[str, list[str]]:
    """Grade every submission under ``root/submitted``; return the notes per ``student/lesson``."""
    from autograder.course.cluster import check_workers, client_for, dashboard

    root = root.resolve()
    course = read_course(root)
    repair(root / "submitted", course["group"])  # nbgrader collect leaves submissions 0777
    submissions = find_submissions(root, course["lessons"])
    if not submissions:
        raise CourseError(f"no submissions in {root / 'submitted'} (expected submitted/<student>/<lesson>/)")
    notes_path = root / NOTES
    notes: dict[str, list[str]] = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.exists() else {}
    started = time.perf_counter()
    seed = secrets.randbelow(2**31)
    gradable = [s for s in submissions if not s.problem]
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch, \
            Merger(root / "gradebook.db") as merger, \
            client_for(jobs, remote, scratch, show_dashboard) as client:
        for submission in submissions:
            merger.register_student(submission.student)
        writer = _CourseWriter(root, merger, notes)
        threads = check_workers(client, sandbox)
        if progress:
            where = remote.address if remote else f"a local Dask cluster of {max(1, jobs)} worker{'s' * (jobs > 1)}"
            link = dashboard(client) if show_dashboard else None
            print(f"grading {len(submissions)} submission{'s' * (len(submissions) != 1)} on {where}"
                  + (f" (dashboard: {link})" if link else ""), file=sys.stderr)
        lessons = {s.lesson for s in gradable}
        files = {lesson: course_files(root, course, lesson) for lesson in lessons}
        # Sent once to every worker, not once per task.
        shared = {lesson: client.scatter(files[lesson], broadcast=True) for lesson in lessons}
        version = fingerprint()
        local_threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
        futures = {}
        for submission in gradable:
            inputs = submission_files(submission, lesson_files(files[submission.lesson]), limits)
            task = SubmissionInput(submission.student, submission.lesson, inputs, seed, limits, local_threads,
                                   sandbox, version, threads)
            future = client.submit(grade_submission, shared[submission.lesson], task, pure=False,
                                   key=f"grade-{submission.student}-{submission.lesson}-{secrets.token_hex(4)}")
            futures[future] = submission
        with tqdm(total=len(submissions), desc="grading", unit="submission", disable=not progress,
                  file=sys.stderr) as bar:
            for submission in submissions:
                if submission.problem:
                    writer.record_zero(submission, submission.problem)
                    bar.update()
            for future in as_completed(futures):
                submission = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - a lost task is recorded, never dropped
                    writer.record_zero(submission, _failure_reason(error))
                else:
                    writer.accept(submission, result)
                future.release()
                bar.update()
    notes_path.write_text(json.dumps(notes, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    graded_at = time.perf_counter()
    if progress:
        print("writing grades.csv with nbgrader…", file=sys.stderr)
    nbgrader(root, "export", "--to", str(root / "grades.csv"))
    stats = writer.stats | {"_phases": {"autograde_seconds": round(graded_at - started, 1),
                                        "export_seconds": round(time.perf_counter() - graded_at, 1),
                                        "sandboxed": sandbox}}
    (root / STATS).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return notes
