"""Grading one submission: a self-contained task, bytes in and bytes out.

``grade_submission(course, submission)`` knows nothing of the course folder. The lesson's
course files (``nbgrader_config.py``, ``source/<lesson>/``, a gradebook holding only the
assignment) arrive as bytes once per worker; the submission's files arrive as bytes. In a
temporary folder of its own it runs ``nbgrader autograde`` — the learner's kernel inside the
bubblewrap sandbox — then checks the hidden tests' recordings against the reference (outside
the kernel, after it has exited), writes the verdicts into its private gradebook and has
nbgrader generate the student's feedback HTML. Everything comes back as bytes: the graded
folder, the feedback folder, the grades and comments, kernel statistics. The same function
runs in a local Dask worker and on a remote machine; only the main process writes the
course's gradebook (``autograder.course.gradebook``).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.checks import CheckFailed, hidden, quiet_stderr
from autograder.course.nbgrader_cli import error_cause
from autograder.course.version import fingerprint
from autograder.grader.autograde_job import RECORDING_NAME, JobSpec, job_command
from autograder.grader.folders import Collected, LeftOut, left_out_notes, read_folder, write_folder
from autograder.grader.limits import DEFAULT, Limits
from autograder.i18n import message


class WorkerMismatch(RuntimeError):
    """This worker runs other code than the main process; it must not grade."""


@dataclass
class CourseFiles:
    """What a worker needs of the course to grade one lesson, sent once per worker."""

    course_id: str
    lesson: str
    language: str
    files: dict[str, bytes]  # course-relative paths: nbgrader_config.py, gradebook.db, source/<lesson>/…
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            hasher = hashlib.sha256()
            for name in sorted(self.files):
                hasher.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
            self.digest = hasher.hexdigest()[:16]


@dataclass
class SubmissionInput:
    student: str
    lesson: str
    files: dict[str, bytes]  # relative to submitted/<student>/<lesson>/
    seed: int
    limits: Limits = DEFAULT
    threads: int = 1
    sandbox: bool = True
    version: str = ""  # the main process's code fingerprint
    threads_by_worker: dict[str, int] = field(default_factory=dict)  # kernel threads, per Dask worker address

    def kernel_threads(self) -> int:
        try:
            from distributed import get_worker

            return self.threads_by_worker.get(get_worker().address, self.threads)
        except (ImportError, ValueError):  # run directly, not as a Dask task
            return self.threads


@dataclass
class TaskResult:
    student: str
    lesson: str
    graded: dict[str, bytes] = field(default_factory=dict)  # autograded/<student>/<lesson>/…
    feedback: dict[str, bytes] = field(default_factory=dict)  # feedback/<student>/<lesson>/…
    grades: dict[str, Any] = field(default_factory=dict)  # see read_grades
    notes: list[str] = field(default_factory=list)
    failure: str = ""  # why nbgrader could not grade it, if it could not
    stats: dict[str, float] = field(default_factory=dict)
    log: str = ""  # the end of nbgrader's log of this submission


_materialized: dict[str, Path] = {}


def _scratch_root() -> str | None:
    """A Dask worker's own folder (Dask removes it with the worker), else the system's temp folder."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _course_folder(course: CourseFiles) -> Path:
    """The course files on this worker's disk, written once per worker and lesson, removed at exit.

    Read-only: every job reads them (nbgrader copies the lesson's runtime from there), none may change them.
    """
    if course.digest not in _materialized or not _materialized[course.digest].is_dir():
        folder = Path(tempfile.mkdtemp(prefix=f"autograder-course-{course.lesson}-", dir=_scratch_root()))
        atexit.register(shutil.rmtree, folder, True)
        for relative, data in course.files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o400)
        _materialized[course.digest] = folder
    return _materialized[course.digest]


def _failure_line(log: str, exit_code: int | None) -> str:
    return (error_cause(log) or f"nbgrader exited with {exit_code}")[:500]


def _log_tail(path: Path, limit: int) -> str:
    """The end of nbgrader's log of this job (at most ``limit`` bytes)."""
    if not path.is_file():
        return ""
    with open(path, "rb") as log:
        size = log.seek(0, os.SEEK_END)
        log.seek(max(0, size - limit))
        return log.read().decode("utf-8", "replace")


def read_grades(db: Path, course_id: str, lesson: str, student: str) -> dict[str, Any]:
    """The submission's grades and comments in a private gradebook, as plain data."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", course_id) as gb:
        submission = gb.find_submission(lesson, student)
        notebooks = {}
        for notebook in submission.notebooks:
            notebooks[notebook.name] = {
                "flagged": bool(notebook.flagged),
                "late_submission_penalty": notebook.late_submission_penalty,
                "grades": {g.name: [g.auto_score, g.manual_score, g.extra_credit, bool(g.needs_manual_grade)]
                           for g in notebook.grades},
                "comments": {c.name: [c.auto_comment, c.manual_comment] for c in notebook.comments},
            }
        timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        return {"timestamp": timestamp, "notebooks": notebooks}


def load_recordings(folder: Path, limits: Limits = DEFAULT) -> dict[str, bytes | str]:
    """The hidden tests' recordings, validated: known names, plain files, bounded size."""
    collected = read_folder(folder, limits.replace(returned_file_bytes=limits.recording_bytes),
                            max_bytes=limits.recording_bytes * 16)
    return {name: data for name, data in collected.files.items() if RECORDING_NAME.match(name)}


def verify_hidden(db: Path, course: CourseFiles, student: str, recordings: dict[str, bytes | str],
                  seed: int) -> list[str]:
    """Zero every grade cell whose recorded hidden-test outputs disagree with the reference.

    Runs in the worker, after the kernel has exited, on recordings read as data; the verdict
    also goes into nbgrader's comment on the answer cell, which the feedback shows.
    """
    from nbgrader.api import Gradebook

    from autograder.course import use_solutions

    lesson, lang = course.lesson, course.language
    checks = importlib.import_module(f"autograder.checks.{lesson}")
    if not hasattr(checks, "verify_hidden"):
        return []
    use_solutions()
    reference = importlib.import_module(f"solutions.{lesson}")
    os.environ["RESNET_COURSE_LANG"] = lang  # messages of the verdicts in the course's language
    notes: list[str] = []
    with Gradebook(f"sqlite:///{db}", course.course_id) as gb:
        for notebook in gb.find_submission(lesson, student).notebooks:
            verdicts: dict[str, list[str]] = {}
            for grade in notebook.grades:
                if not grade.auto_score:
                    continue
                try:
                    recorded = hidden.parse_recording(recordings, grade.name)
                    if isinstance(recorded, str):
                        raise CheckFailed(recorded)
                    checks.verify_hidden(grade.name, recorded, reference, seed)
                    continue
                except CheckFailed as failure:
                    reason = str(failure)
                except Exception as error:  # noqa: BLE001 - a tampered recording must not stop the batch
                    reason = f"unusable recording ({type(error).__name__}: {error})"
                grade.auto_score = 0
                verdict = f"{grade.name}: " + message("hidden_failed", lang, reason=reason)
                notes.append(verdict)
                verdicts.setdefault(checks.exercise_of(grade.name), []).append(verdict)
            for answer, lines in verdicts.items():
                comment = gb.find_comment(answer, notebook.name, lesson, student)
                comment.auto_comment = "\n\n".join(([comment.auto_comment] if comment.auto_comment else []) + lines)
        gb.db.commit()
    return notes


def _kernel_death(report: Path) -> list[str]:
    """Why the kernel died, if it did (RobustExecute's report, written outside the sandbox)."""
    if not report.is_file():
        return []
    death = json.loads(report.read_text(encoding="utf-8")).get("death")
    return [death["reason"]] if death else []


def generate_feedback(work: Path, lesson: str, student: str) -> str:
    """nbgrader's ``generate_feedback`` for one student, in this process (no learner code runs here).

    A process of its own would cost ~2 s per submission to start; the converter is nbgrader's
    own, with the course's configuration (templates, preprocessors) loaded as nbgrader loads it.
    Returns the reason when it fails.
    """
    import logging

    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(work)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root, coursedir.assignment_id, coursedir.student_id = str(work), lesson, student
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    app.log.setLevel(logging.CRITICAL)  # its own failure comes back as an exception
    try:
        app.start()
    except Exception as error:  # noqa: BLE001 - no feedback is a note on the submission, not a lost grade
        return f"{type(error).__name__}: {error}"[:500]
    return ""


def _run_job(course_root: Path, course: CourseFiles, submission: SubmissionInput, job: Path) -> str:
    """nbgrader's autograde of the submission in its bounded job (``autograder.grader.autograde_job``).

    Returns why it could not grade the submission ("" when it could); the results are in ``job/outbox``.
    """
    limits = submission.limits
    for folder in ("inbox", "work", "outbox"):
        (job / folder).mkdir()
    write_folder(job / "inbox", submission.files)
    spec = JobSpec(str(course_root), submission.lesson, submission.student, course.language, str(job / "inbox"),
                   str(job / "work"), str(job / "outbox"), submission.seed, submission.kernel_threads(),
                   submission.sandbox, limits.to_dict())
    spec.write(job / "spec.json")
    with open(job / "outbox" / "autograde.log", "wb") as log:
        runner = subprocess.Popen(job_command(job / "spec.json", spec), stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            exit_code = runner.wait(timeout=limits.job_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
            return message("job_timeout", course.language, seconds=limits.job_seconds)
    summary = job / "outbox" / "job.json"
    if exit_code != 0 or not summary.is_file():
        return _failure_line(_log_tail(job / "outbox" / "autograde.log", limits.log_bytes), exit_code)
    nbgrader_exit = json.loads(summary.read_text(encoding="utf-8"))["nbgrader_exit"]
    if nbgrader_exit != 0 or not (job / "outbox" / "graded" / f"{submission.lesson}.ipynb").is_file():
        return _failure_line(_log_tail(job / "outbox" / "autograde.log", limits.log_bytes), nbgrader_exit)
    return ""


def _feedback(course_root: Path, job: Path, lesson: str, student: str) -> tuple[dict[str, bytes], str]:
    """The student's feedback page, generated here from the graded notebook; or why there is none.

    Only the notebook (and the two small files nbgrader's release_feedback reads) goes in: the feedback folder
    is the page, and nbgrader's copying of other files (a glob per file and ignore pattern) takes minutes for
    thousands of files.
    """
    work = job / "feedback-work"
    graded = work / "autograded" / student / lesson
    graded.mkdir(parents=True)
    # nbgrader's release_feedback reads the last two beside the page (the secret names the page in the exchange).
    for name in (f"{lesson}.ipynb", "timestamp.txt", "submission_secret.txt"):
        if (job / "outbox" / "graded" / name).is_file():
            shutil.copyfile(job / "outbox" / "graded" / name, graded / name)
    (work / "source").symlink_to(course_root / "source", target_is_directory=True)
    shutil.copyfile(course_root / "nbgrader_config.py", work / "nbgrader_config.py")
    shutil.copyfile(job / "outbox" / "gradebook.db", work / "gradebook.db")
    problem = generate_feedback(work, lesson, student)
    if problem:
        return {}, problem
    return read_folder(work / "feedback" / student / lesson).files, ""


def grade_submission(course: CourseFiles, submission: SubmissionInput) -> TaskResult:
    """Autograde one submission in a temporary folder; everything it needs and returns is bytes."""
    if submission.version and submission.version != fingerprint():
        raise WorkerMismatch(f"worker runs autograder {fingerprint()}, the grader {submission.version}")
    start = time.perf_counter()
    result = TaskResult(submission.student, submission.lesson)
    student, lesson, limits = submission.student, submission.lesson, submission.limits
    course_root = _course_folder(course)
    with tempfile.TemporaryDirectory(prefix="autograder-job-", dir=_scratch_root()) as scratch:
        job = Path(scratch)
        result.failure = _run_job(course_root, course, submission, job)
        outbox = job / "outbox"
        result.log = _log_tail(outbox / "autograde.log", limits.log_bytes)
        if not result.failure:
            graded = read_folder(outbox / "graded", limits)
            result.graded = graded.files
            summary = json.loads((outbox / "job.json").read_text(encoding="utf-8"))
            left = Collected(left_out={kind: LeftOut(**value) for kind, value in summary["left_out"].items()})
            result.notes.extend(left_out_notes(left, course.language, limits))
            with quiet_stderr():  # TensorFlow's start-up lines would reach the instructor's console
                result.notes.extend(verify_hidden(outbox / "gradebook.db", course, student,
                                                  load_recordings(outbox / "hidden", limits), submission.seed))
            result.notes.extend(_kernel_death(outbox / "kernel.json"))
            result.grades = read_grades(outbox / "gradebook.db", course.course_id, lesson, student)
            result.feedback, problem = _feedback(course_root, job, lesson, student)
            if problem:
                result.notes.append(f"no feedback: {problem}")
        report = outbox / "kernel.json"
        peak = json.loads(report.read_text())["peak_rss_bytes"] if report.is_file() else 0
    result.stats = {"seconds": round(time.perf_counter() - start, 2), "peak_rss_bytes": peak}
    return result


def run_sandbox_check() -> str:
    """What a worker answers when asked whether it can sandbox (bwrap's version, or why not)."""
    from autograder.course.sandbox import SandboxUnavailable, check

    try:
        return check()
    except SandboxUnavailable as error:
        return f"unavailable: {error}"


def worker_identity() -> dict[str, str]:
    """What the main process compares before it sends work: code fingerprint and Python."""
    return {"fingerprint": fingerprint(), "python": sys.version.split()[0]}
