"""Grading one submission: a self-contained task, a job in and an outcome out.

``grade_submission(course, job)`` knows nothing of the course folder. The lesson's course files
(``nbgrader_config.py``, ``source/<lesson>/``, a gradebook holding only the assignment, the reference
solution's source) arrive once per worker; the submission's files arrive with the job. In a temporary
folder of its own the worker runs nbgrader's autograde in a bounded job
(``autograder.grader.autograde_job``: the learner's kernel in the bubblewrap sandbox, everything on a
size-limited disk), then checks the hidden tests' recordings against the reference
(``autograder.grader.verdicts``), reads the grades from its private gradebook and has nbgrader render
the student's feedback page. The outcome (``autograder.grader.payload``) is plain data. The same
function runs in a local Dask worker and on a remote machine; only the main process writes the
course's gradebook (``autograder.course.gradebook``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from autograder.grader.autograde_job import RunSpec, job_command
from autograder.grader.feedback import feedback_page
from autograder.grader.folders import read_folder, write_folder
from autograder.grader.nbgrader_cli import error_cause
from autograder.grader.payload import CourseFiles, JobSpec, Outcome
from autograder.grader.results import failing_checks, kernel_death, kernel_report, left_out, log_tail, read_grades
from autograder.grader.sanitize import terminal_safe
from autograder.grader.verdicts import load_recordings, verify_hidden
from autograder.grader.version import fingerprint
from autograder.learner.checks import quiet_stderr
from autograder.learner.i18n import message


class WorkerMismatch(RuntimeError):
    """This worker runs other code than the main process; it must not grade."""


_materialized: dict[str, Path] = {}


def scratch_root() -> str | None:
    """A Dask worker's own folder (Dask removes it with the worker), else the system's temp folder."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def kernel_threads(job: JobSpec) -> int:
    """The kernel's threads: this worker's share of its machine's cores."""
    try:
        from distributed import get_worker

        return job.threads_by_worker.get(get_worker().address, job.threads)
    except (ImportError, ValueError):  # run directly, not as a Dask task
        return job.threads


def course_folder(course: CourseFiles) -> Path:
    """The course files on this worker's disk, written once per worker and lesson, removed at exit.

    Read-only: every job reads them (nbgrader copies the lesson's runtime from there), none may change them.
    The reference solution is not among them: it stays in this process's memory.
    """
    if course.digest not in _materialized or not _materialized[course.digest].is_dir():
        folder = Path(tempfile.mkdtemp(prefix=f"autograder-course-{course.lesson}-", dir=scratch_root()))
        atexit.register(shutil.rmtree, folder, True)
        for relative, data in course.files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o400)
        _materialized[course.digest] = folder
    return _materialized[course.digest]


def notebook_problem(path: Path, lang: str) -> str:
    """Why the submitted notebook cannot be graded ("" when it can): said to the student, not nbgrader's traceback."""
    import nbformat

    if not path.is_file():
        return ""  # nbgrader names the missing notebook itself
    try:
        nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any failure to read it is the submission's
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        return message("not_a_notebook", lang, error=terminal_safe(first, one_line=True))
    return ""


def run_job(course_root: Path, course: CourseFiles, job: JobSpec, folder: Path) -> str:
    """nbgrader's autograde of the submission in its bounded job; why it could not grade ("" when it could).

    The results are in ``folder/outbox``.
    """
    limits = job.limits
    for name in ("inbox", "work", "outbox"):
        (folder / name).mkdir()
    write_folder(folder / "inbox", job.files)
    problem = notebook_problem(folder / "inbox" / f"{job.key.lesson}.ipynb", course.language)
    if problem:
        return problem
    spec = RunSpec(str(course_root), job.key.lesson, job.key.student, course.language, str(folder / "inbox"),
                   str(folder / "work"), str(folder / "outbox"), job.seed, kernel_threads(job), job.sandbox,
                   limits.to_dict())
    spec.write(folder / "spec.json")
    log_path = folder / "outbox" / "autograde.log"
    with open(log_path, "wb") as log:
        runner = subprocess.Popen(job_command(folder / "spec.json", spec), stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            exit_code = runner.wait(timeout=limits.job_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
            return message("job_timeout", course.language, seconds=limits.job_seconds)
    summary = folder / "outbox" / "job.json"
    if exit_code == 0 and summary.is_file():
        exit_code = json.loads(summary.read_text(encoding="utf-8"))["nbgrader_exit"]
    if exit_code != 0 or not (folder / "outbox" / "graded" / f"{job.key.lesson}.ipynb").is_file():
        return (error_cause(log_tail(log_path, limits.log_bytes)) or f"nbgrader exited with {exit_code}")[:500]
    return ""


def grade_submission(course: CourseFiles, job: JobSpec) -> Outcome:
    """Autograde one submission in a temporary folder; everything it needs and returns is data."""
    if job.version and job.version != fingerprint():
        raise WorkerMismatch(f"worker runs autograder {fingerprint()}, the grader {job.version}")
    start = time.perf_counter()
    key, limits = job.key, job.limits
    course_root = course_folder(course)
    with tempfile.TemporaryDirectory(prefix="autograder-job-", dir=scratch_root()) as scratch:
        folder = Path(scratch)
        problem = run_job(course_root, course, job, folder)
        outbox = folder / "outbox"
        log = log_tail(outbox / "autograde.log", limits.log_bytes)
        report = kernel_report(outbox / "kernel.json")
        if problem:
            outcome = Outcome.without_grades(key, "not_gradable", problem, log)
        else:
            outcome = Outcome(key, "graded", graded=read_folder(outbox / "graded", limits).files, log=log)
            outcome.notes.extend(left_out(outbox / "job.json", course.language, limits))
            with quiet_stderr():  # TensorFlow's start-up lines would reach the instructor's console
                outcome.notes.extend(verify_hidden(outbox / "gradebook.db", course, key.student,
                                                   load_recordings(outbox / "hidden", limits), job.seed))
            outcome.notes.extend(kernel_death(outbox / "kernel.json"))
            outcome.grades = read_grades(outbox / "gradebook.db", course.course_id, key.lesson, key.student)
            outcome.failures = failing_checks(outcome.graded.get(f"{key.lesson}.ipynb", b"{}"))
            outcome.feedback, trouble = feedback_page(course_root, folder, key.lesson, key.student, job.feedback)
            if trouble:
                outcome.notes.append(f"no feedback: {trouble}")
    outcome.stats = {"seconds": round(time.perf_counter() - start, 2),
                     "peak_rss_bytes": report.get("peak_rss_bytes", 0)}
    return outcome
