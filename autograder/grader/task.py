"""Grading one submission: a self-contained task, a job in and an outcome out.

``grade_submission(course, job)`` knows nothing of the course folder. The lesson's course files
(``nbgrader_config.py``, ``source/<lesson>/``, a gradebook holding only the assignment, the reference
solution's source) arrive once per worker; the submission's files arrive with the job. In a temporary
folder of its own the worker runs nbgrader's autograde in a bounded job (``autograder.grader.autograde_job``:
the learner's kernel in the bubblewrap sandbox, everything on a size-limited disk) — a fork of the worker's
job server (``autograder.grader.job_server``), or a process of its own under bubblewrap where the server
cannot bound it — then checks the hidden tests' recordings against the reference
(``autograder.grader.verdicts``), reads the grades from its private gradebook and has nbgrader render
the student's feedback page. The outcome (``autograder.grader.payload``) is plain data, with the time
each phase took. The same function runs in a local Dask worker and on a remote machine; only the main
process writes the course's gradebook (``autograder.course.gradebook``).

:func:`warm_worker` readies a worker before its first submission (the job server, TensorFlow, the
reference's hidden-test outputs), so that the first submission costs what the others do.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.grader.autograde_job import RunSpec, job_command
from autograder.grader.feedback import feedback_page
from autograder.grader.feedback import warm_up as warm_up_feedback
from autograder.grader.folders import read_folder, write_folder
from autograder.grader.job_server import NO_NAMESPACE, JobServer, ServerGone
from autograder.grader.nbgrader_cli import error_cause
from autograder.grader.payload import CourseFiles, JobSpec, Outcome
from autograder.grader.results import failing_checks, kernel_death, kernel_report, left_out, log_tail, read_grades
from autograder.grader.sanitize import terminal_safe
from autograder.grader.verdicts import load_recordings, prepare_references, verify_hidden
from autograder.grader.version import fingerprint
from autograder.learner.checks import quiet_stderr
from autograder.learner.i18n import message


class WorkerMismatch(RuntimeError):
    """This worker runs other code than the main process; it must not grade."""


_materialized: dict[str, Path] = {}
_tasks_here = 0  # submissions this process has graded: its first pays for warming up, unless warmed before
_warm_up_seconds: float | None = None  # how long this worker's warm-up took (reported with its first task)
_job_server = JobServer()
# The job server dies with the thread that started it: a thread of this pool, which lives as long as the worker.
_server_pool = ThreadPoolExecutor(1, thread_name_prefix="autograder-job-server")
atexit.register(_job_server.stop)


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


def start_job_server() -> None:
    """This worker's job server, started once (from the thread that lives as long as the worker)."""
    scratch = scratch_root()
    _server_pool.submit(_job_server.start, scratch).result()


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


def kernels_ahead(job: JobSpec, threads: int) -> bool:
    """Whether the job server should start each next kernel ahead (``spare_kernel``) for sandboxed jobs like ``job``:
    as ``kernels_ahead`` says, else (None) where a kernel's share of the cores leaves one idle."""
    return job.sandbox and (job.kernels_ahead if job.kernels_ahead is not None else threads > 1)


def keep_kernel_ahead(ahead: bool, threads: int, limits: dict) -> None:
    """Tell the (started) job server whether to keep the next job's kernel started ahead."""
    _job_server.keep_spare(threads if ahead else None, limits if ahead else None)


def start_first_kernel(job: JobSpec) -> None:
    """Before the worker's first submission: that submission's kernel started now, while the cores are idle.

    Where kernels are kept started ahead this is the first of them; where they are not (every core has a
    kernel of its own to run), the first submission's still is, so that it costs no more than the others,
    unless the grader said never (``AUTOGRADER_KERNELS_AHEAD=0``).
    """
    threads = kernel_threads(job)
    if kernels_ahead(job, threads):
        keep_kernel_ahead(True, threads, job.limits.to_dict())
    elif job.sandbox and job.kernels_ahead is None:
        _job_server.start_one_spare(threads, job.limits.to_dict())


def warm_worker(course: CourseFiles, seed: int, kernels: JobSpec | None = None) -> float:
    """Make this worker ready before its first submission: the job server, course files, TensorFlow, the
    reference's hidden-test outputs for ``seed``, a feedback page written and thrown away, and (for sandboxed
    ``kernels`` like this job's) the first submission's kernel started ahead; the seconds it took.

    A Dask task, sent to every worker ahead of the submissions: the worker's first submission then costs what
    the others do. (Done in the background instead, it would slow the first job down wherever the cores are
    all busy grading.) Whatever fails here fails again, with its reason, in the submission's own task.
    """
    global _warm_up_seconds
    started = time.perf_counter()
    start_job_server()
    if kernels is not None:
        start_first_kernel(kernels)
    root = course_folder(course)
    with quiet_stderr(), contextlib.suppress(Exception):  # TensorFlow's start-up lines stay off the console
        prepare_references(root / "gradebook.db", course, seed)
    with quiet_stderr(), contextlib.suppress(Exception):
        warm_up_feedback(root, course.lesson)  # nbconvert, nbgrader's converter, the templates: for the first page

    _warm_up_seconds = round((_warm_up_seconds or 0.0) + time.perf_counter() - started, 2)  # every lesson's
    return _warm_up_seconds


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


def run_job_process(folder: Path, spec: RunSpec, seconds: int, ahead: bool = False) -> tuple[int | None, str]:
    """Run the job described in ``folder/spec.json``: its exit status (None when it ran out of time) and where
    it ran (``job server`` or ``bubblewrap``, or ``process`` unsandboxed); ``ahead``: keep the next kernel started
    ahead (``kernels_ahead``).

    In a fork of the worker's job server when it can (``autograder.grader.job_server``), else — no server,
    no namespaces for it here, the server lost on the way — in a process of its own under bubblewrap.
    """
    log_path = folder / "outbox" / "autograde.log"
    if _job_server.usable:
        try:
            start_job_server()
            keep_kernel_ahead(ahead, spec.threads, spec.limits)  # the next kernel starts while this job runs
            code = _job_server.run(folder / "spec.json", log_path, seconds)
            if code != NO_NAMESPACE:
                return code, "job server"
        except ServerGone:
            pass
        for entry in [*(folder / "outbox").iterdir(), *(folder / "work").iterdir()]:  # what a lost job left
            if entry != log_path:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    with open(log_path, "ab") as log:
        runner = subprocess.Popen(job_command(folder / "spec.json", spec), stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        where = "bubblewrap" if spec.sandbox else "process"
        try:
            return runner.wait(timeout=seconds), where
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
            return None, where


def run_job(course_root: Path, course: CourseFiles, job: JobSpec, folder: Path) -> tuple[str, str]:
    """nbgrader's autograde of the submission in its bounded job: why it could not grade ("" when it could),
    and where the job ran (see ``run_job_process``; "" when it did not run).

    The results are in ``folder/outbox``.
    """
    limits = job.limits
    for name in ("inbox", "work", "outbox"):
        (folder / name).mkdir()
    write_folder(folder / "inbox", job.files)
    problem = notebook_problem(folder / "inbox" / f"{job.key.lesson}.ipynb", course.language)
    if problem:
        return problem, ""
    spec = RunSpec(str(course_root), job.key.lesson, job.key.student, course.language, str(folder / "inbox"),
                   str(folder / "work"), str(folder / "outbox"), job.seed, kernel_threads(job), job.sandbox,
                   limits.to_dict(), launched=time.time())
    spec.write(folder / "spec.json")
    exit_code, where = run_job_process(folder, spec, limits.job_seconds, kernels_ahead(job, spec.threads))
    if exit_code is None:
        return message("job_timeout", course.language, seconds=limits.job_seconds), where
    summary = folder / "outbox" / "job.json"
    if exit_code == 0 and summary.is_file():
        exit_code = json.loads(summary.read_text(encoding="utf-8"))["nbgrader_exit"]
    if exit_code != 0 or not (folder / "outbox" / "graded" / f"{job.key.lesson}.ipynb").is_file():
        log = log_tail(folder / "outbox" / "autograde.log", limits.log_bytes)
        return (error_cause(log) or f"nbgrader exited with {exit_code}")[:500], where
    return "", where


class Phases(dict):
    """Seconds spent in each phase of a task, by name (the benchmark's per-phase breakdown)."""

    @contextlib.contextmanager
    def timed(self, name: str):  # noqa: ANN201 - a context manager
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - started, 2)


def job_phases(outbox: Path) -> dict[str, float]:
    """The job process's and its kernel's own timings (job.json, kernel.json): where the job's time went."""
    phases: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        phases.update(json.loads((outbox / "job.json").read_text(encoding="utf-8")).get("phases", {}))
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        report = json.loads((outbox / "kernel.json").read_text(encoding="utf-8"))
        cells = [float(seconds) for seconds in report.get("cell_seconds", [])]
        phases |= {"kernel_start": float(report.get("kernel_start_seconds", 0)), "cells": round(sum(cells), 2),
                   "kernel_stop": round(float(report.get("execute_seconds", 0)) - sum(cells)
                                        - float(report.get("kernel_start_seconds", 0)), 2)}
    return {name: value for name, value in phases.items() if isinstance(value, (int, float))}


def grade_submission(course: CourseFiles, job: JobSpec) -> Outcome:
    """Autograde one submission in a temporary folder; everything it needs and returns is data."""
    if job.version and job.version != fingerprint():
        raise WorkerMismatch(f"worker runs autograder {fingerprint()}, the grader {job.version}")
    global _tasks_here
    _tasks_here += 1
    start = time.perf_counter()
    key, limits = job.key, job.limits
    phases = Phases()
    with phases.timed("course_files"):
        course_root = course_folder(course)
    with tempfile.TemporaryDirectory(prefix="autograder-job-", dir=scratch_root()) as scratch:
        folder = Path(scratch)
        with phases.timed("job"):
            problem, job_runner = run_job(course_root, course, job, folder)
        outbox = folder / "outbox"
        phases.update(job_phases(outbox))
        log = log_tail(outbox / "autograde.log", limits.log_bytes)
        report = kernel_report(outbox / "kernel.json")
        if problem:
            outcome = Outcome.without_grades(key, "not_gradable", problem, log)
        else:
            with phases.timed("results"):
                outcome = Outcome(key, "graded", graded=read_folder(outbox / "graded", limits).files, log=log)
                outcome.notes.extend(left_out(outbox / "job.json", course.language, limits))
            with phases.timed("hidden_tests"), quiet_stderr():  # TensorFlow's start-up lines stay off the console
                outcome.notes.extend(verify_hidden(outbox / "gradebook.db", course, key.student,
                                                   load_recordings(outbox / "hidden", limits), job.seed))
            with phases.timed("results"):
                outcome.notes.extend(kernel_death(outbox / "kernel.json"))
                outcome.grades = read_grades(outbox / "gradebook.db", course.course_id, key.lesson, key.student)
                outcome.failures = failing_checks(outcome.graded.get(f"{key.lesson}.ipynb", b"{}"))
            with phases.timed("feedback"):
                outcome.feedback, trouble = feedback_page(course_root, folder, key.lesson, key.student,
                                                          job.feedback)
            if trouble:
                outcome.notes.append(f"no feedback: {trouble}")
    outcome.stats = {"seconds": round(time.perf_counter() - start, 2), "job_runner": job_runner,
                     "kernel_started_ahead": bool(report.get("kernel_was_waiting")),
                     "peak_rss_bytes": report.get("peak_rss_bytes", 0), "task_on_worker": _tasks_here,
                     **({"warm_up_before": _warm_up_seconds} if _tasks_here == 1 and _warm_up_seconds else {}),
                     "phases": dict(phases), "cell_seconds": report.get("cell_seconds", [])}
    return outcome
