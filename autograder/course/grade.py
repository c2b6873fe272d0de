"""``python -m autograder grade DIR [--jobs N | --scheduler ADDRESS]``: autograde every submission with real nbgrader.

The shape (see ``autograder.grader.task``): each submission is one Dask task — a job in, an outcome
out, both plain data (``autograder.grader.payload``). The task runs nbgrader's autograde in a bounded
job on the worker, with the learner's kernel in the bubblewrap sandbox, and checks the hidden tests
there after the kernel has exited. This main process is the only writer of the course gradebook
(``autograder.course.gradebook``) and of the course folder, and holds the gradebook's lock while it
grades, so the grading service (``serve``) waits meanwhile. A submission that cannot be graded
(missing, not a notebook, its worker lost too often) is recorded with zero points and the reason —
never dropped.

:class:`GradingSession` (a cluster, its checked workers and the course's files sent to them) and
:class:`CourseWriter` (everything that writes the course) are shared with the grading service.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from distributed import Client, Future, as_completed, wait
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker
from tqdm import tqdm

from autograder import paths
from autograder.course import CourseError, say
from autograder.course.cluster import (
    ALLOWED_FAILURES,
    RemoteCluster,
    check_workers,
    client_for,
    dashboard,
    usable_cores,
)
from autograder.course.create import nbgrader, read_course
from autograder.course.gradebook import GradebookWriter, gradebook_without_students, writing_lock
from autograder.course.permissions import repair
from autograder.grader.folders import read_folder, write_folder
from autograder.grader.limits import DEFAULT, Limits
from autograder.grader.payload import CourseFiles, FeedbackDetail, JobSpec, Outcome, SubmissionKey
from autograder.grader.sanitize import terminal_safe
from autograder.grader.task import grade_submission, warm_worker
from autograder.grader.version import fingerprint

NOTES = "grading_notes.json"
STATS = "grading_stats.json"


@dataclass
class Found:
    """A submission in ``submitted/``, and why it cannot be graded at all, if it cannot."""

    key: SubmissionKey
    folder: Path
    problem: str = ""


def find_submissions(root: Path, lessons: list[str]) -> list[Found]:
    found = []
    for student_dir in sorted(p for p in (root / "submitted").glob("*") if p.is_dir()):
        for lesson in lessons:
            folder = student_dir / lesson
            if folder.is_dir():
                found.append(Found(SubmissionKey(student_dir.name, lesson), folder, notebook_problem(folder, lesson)))
    return found


def notebook_problem(folder: Path, lesson: str) -> str:
    """Why the submission in ``folder`` holds no notebook nbgrader can grade ("" when it does)."""
    notebook = folder / f"{lesson}.ipynb"
    if notebook.is_symlink() or not notebook.is_file():
        return f"no notebook {notebook.name} in the submission"
    try:
        nbformat.read(notebook, as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file is reported the same way
        return f"{notebook.name} is not a valid notebook ({type(error).__name__})"
    return ""


def course_files(root: Path, course: dict, lesson: str) -> CourseFiles:
    """What a worker needs of the course for one lesson (plain files, links left out), with the reference's source."""
    source = read_folder(root / "source" / lesson, DEFAULT.replace(returned_file_bytes=2**31), max_bytes=2**31).files
    files = {f"source/{lesson}/{name}": data for name, data in source.items()}
    files["nbgrader_config.py"] = (root / "nbgrader_config.py").read_bytes()
    files["gradebook.db"] = gradebook_without_students(root / "gradebook.db")
    reference = paths.SOLUTIONS / f"{lesson}.py"
    if not reference.is_file():
        raise CourseError("no_solutions", path=reference)
    return CourseFiles(course["course_id"], lesson, course["language"], files, reference.read_bytes())


def submission_files(folder: Path, lesson_files: frozenset[str] = frozenset(), limits: Limits = DEFAULT
                     ) -> dict[str, bytes]:
    """The submitted files a worker needs: not the lesson's runtime and data (nbgrader copies them from source/)."""
    return read_folder(folder, limits, skip=lesson_files, max_bytes=limits.submission_bytes,
                       max_files=limits.submission_files).files


def failure_reason(error: BaseException) -> str:
    """Why a task came back without an outcome (the grader's trouble, not the submission's)."""
    if isinstance(error, KilledWorker):
        return say("worker_lost", times=ALLOWED_FAILURES + 1)
    if isinstance(error, FutureCancelledError):
        return say("task_cancelled")
    return f"{type(error).__name__}: {error}"


@dataclass
class BatchResult:
    """What ``grade`` did: every submission's outcome, and how the batch ran."""

    outcomes: dict[SubmissionKey, Outcome] = field(default_factory=dict)
    sandboxed: bool = True
    phases: dict[str, float] = field(default_factory=dict)

    def notes(self) -> dict[SubmissionKey, list[str]]:
        """What to say about each submission: why it was not graded, or the grader's notes."""
        return {key: outcome.notes if outcome.status == "graded" else [f"not graded: {outcome.reason}"]
                for key, outcome in self.outcomes.items()}


class CourseWriter:
    """Everything that writes the course folder and gradebook, in this process only."""

    def __init__(self, root: Path, writer: GradebookWriter) -> None:
        self.root = root
        self.writer = writer
        self.stats: dict[str, dict[str, float]] = {}

    def record(self, outcome: Outcome) -> None:
        """Put one outcome into the course: grades (or 0 and why), graded folder and nbgrader's log, feedback."""
        started = time.perf_counter()
        key = outcome.key
        graded_folder = self.root / "autograded" / key.student / key.lesson
        log = {f"{key.lesson}.autograde.log": outcome.log.encode("utf-8")} if outcome.log else {}
        if outcome.status == "graded" and outcome.grades is not None:
            self.writer.merge(key, outcome.grades)
            write_folder(graded_folder, outcome.graded | log)
            write_folder(self.root / "feedback" / key.student / key.lesson, outcome.feedback)
        else:
            self.writer.record_zero(key)
            line = say("not_graded", submission=key, reason=outcome.reason)
            print(terminal_safe(line, one_line=True), file=sys.stderr)
            if log:  # why, in nbgrader's words, where the graded notebook would be
                write_folder(graded_folder, log)
        self.stats[str(key)] = outcome.stats | {"main_thread_seconds": round(time.perf_counter() - started, 3)}


WARM_UP_TIMEOUT = 120  # seconds; a warm-up takes 8–13 s on 2 cores


class GradingSession:
    """A Dask cluster ready to grade a course: workers checked, each lesson's course files sent to every worker."""

    def __init__(self, root: Path, course: dict, client: Client, limits: Limits, sandbox: bool,
                 threads: dict[str, int], local_threads: int) -> None:
        self.root, self.course, self.client = root, course, client
        self.limits, self.sandbox = limits, sandbox
        self.threads, self.local_threads = threads, local_threads
        self.version = fingerprint()
        self._files: dict[str, CourseFiles] = {}
        self._shared: dict[str, Future] = {}
        self._warm_ups: list[Future] = []  # held until done: Dask forgets a task nobody holds
        # Each next kernel started ahead: "1" always, "0" never, else only where cores are idle (JobSpec.kernels_ahead).
        self.kernels_ahead: bool | None = {"1": True, "0": False}.get(os.environ.get(KERNELS_AHEAD_ENV, ""))

    @classmethod
    @contextmanager
    def open(cls, root: Path, course: dict, jobs: int, limits: Limits, sandbox: bool,
             remote: RemoteCluster | None = None, show_dashboard: bool = False) -> Iterator[GradingSession]:
        with ExitStack() as stack:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="autograder-"))
            client = stack.enter_context(client_for(jobs, remote, scratch, show_dashboard))
            # Every local worker, not only the first to register: each is warmed, and the cores are shared
            # among all of them (a worker counted alone would give its kernels every core).
            threads = check_workers(client, sandbox, wait_for=max(1, jobs) if remote is None else 1)
            yield cls(root, course, client, limits, sandbox, threads, max(1, usable_cores() // max(1, jobs)))

    def _lesson(self, lesson: str) -> tuple[CourseFiles, Future]:
        if lesson not in self._files:
            self._files[lesson] = course_files(self.root, self.course, lesson)
            # Sent once, not once per task: a task that returns them, which workers copy from each other. Not
            # scattered: scattered data lives only on the workers there were then, and a lost worker that held the
            # only copy takes it for good, cancelling every submission; a task's result is computed again.
            self._shared[lesson] = self.client.submit(course_files_on_worker, self._files[lesson], pure=False,
                                                      key=f"course-files-{lesson}-{secrets.token_hex(4)}")
        return self._files[lesson], self._shared[lesson]

    def warm(self, lessons: list[str], seed: int) -> None:
        """Ready every worker for ``lessons`` before the first submission arrives (``task.warm_worker``).

        One task per worker, ahead of any submission (a higher priority): the worker starts its job server,
        imports TensorFlow and builds the reference's hidden-test outputs for ``seed``.
        """
        workers = list(self.threads)  # the workers checked at the start (the client's own list may lag behind)
        # What the submissions' kernels will be like (threads, limits, sandbox): each worker starts its first ahead.
        kernels = JobSpec(SubmissionKey("", ""), {}, seed, self.limits, self.sandbox, self.version, self.local_threads,
                          self.threads, kernels_ahead=self.kernels_ahead)
        for lesson in lessons:
            _, shared = self._lesson(lesson)
            self._warm_ups += [self.client.submit(warm_worker, shared, seed, kernels, workers=[address],
                                                  allow_other_workers=False, pure=False, priority=100,
                                                  key=f"warm-{lesson}-{secrets.token_hex(4)}")
                               for address in workers]

    def wait_for_warm_ups(self, timeout: float = WARM_UP_TIMEOUT) -> None:
        """Wait until every worker is warm (or ``timeout`` seconds): Dask does not hold a task back for a
        higher-priority one that reaches the worker later, so a submission sent with the warm-ups can start first
        on a worker that still has to fetch the course files, and then pays the warm-up itself (measured: one
        worker of two, 7 s of hidden-test references and 1 s of job server start in its first task). A worker
        lost meanwhile is not waited for longer than ``timeout``: its submissions go elsewhere, cold."""
        with contextlib.suppress(TimeoutError):
            wait(self._warm_ups, timeout=timeout)

    def submit(self, key: SubmissionKey, folder: Path, seed: int, feedback: FeedbackDetail = "full",
               priority: int = 0) -> Future:
        """Send one submission (the files in ``folder``) to be graded; its outcome comes from the future."""
        files, shared = self._lesson(key.lesson)
        job = JobSpec(key, submission_files(folder, files.lesson_files(), self.limits), seed, self.limits,
                      self.sandbox, self.version, self.local_threads, self.threads, feedback, self.kernels_ahead)
        return self.client.submit(grade_submission, shared, job, pure=False, priority=priority,
                                  key=f"grade-{key.student}-{key.lesson}-{secrets.token_hex(4)}")


KERNELS_AHEAD_ENV = "AUTOGRADER_KERNELS_AHEAD"


def course_files_on_worker(files: CourseFiles) -> CourseFiles:
    """A lesson's course files as a task's result (see ``GradingSession._lesson``)."""
    return files


def outcome_of(future: Future, key: SubmissionKey) -> Outcome:
    """A finished task's outcome; a task that failed (lost workers, cancelled) becomes a ``failed`` one."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a lost task is recorded, never dropped
        return Outcome.without_grades(key, "failed", failure_reason(error))


def grade(root: Path, jobs: int = 1, limits: Limits = DEFAULT, progress: bool = True,
          remote: RemoteCluster | None = None, sandbox: bool = True, show_dashboard: bool = False) -> BatchResult:
    """Grade every submission under ``root/submitted``; record every outcome in the course."""
    root = root.resolve()
    course = read_course(root)
    repair(root / "submitted", course["group"])  # nbgrader collect leaves submissions 0777
    submissions = find_submissions(root, course["lessons"])
    if not submissions:
        raise CourseError("no_submissions", path=root / "submitted")
    started = time.perf_counter()
    seed = secrets.randbelow(2**31)
    batch = BatchResult(sandboxed=sandbox)
    with writing_lock(root):
        # nbgrader exports in a process of its own and sees only committed grades: the writer (and the
        # cluster) are closed first.
        with GradebookWriter(root / "gradebook.db") as writer, \
                GradingSession.open(root, course, jobs, limits, sandbox, remote, show_dashboard) as session:
            for found in submissions:
                writer.register_student(found.key.student)
            course_writer = CourseWriter(root, writer)
            session.warm(sorted({found.key.lesson for found in submissions if not found.problem}), seed)
            if progress:
                where = remote.address if remote else say("local_cluster", count=max(1, jobs))
                link = dashboard(session.client) if show_dashboard else None
                print(say("grading", count=len(submissions), where=where)
                      + (f" ({say('dashboard', link=link)})" if link else ""), file=sys.stderr)
            session.wait_for_warm_ups()
            futures = {session.submit(found.key, found.folder, seed): found.key for found in submissions
                       if not found.problem}
            with tqdm(total=len(submissions), desc="grading", unit="submission", disable=not progress,
                      file=sys.stderr) as bar:
                for found in submissions:
                    if found.problem:
                        batch.outcomes[found.key] = Outcome.without_grades(found.key, "not_gradable", found.problem)
                        course_writer.record(batch.outcomes[found.key])
                        bar.update()
                for future in as_completed(futures):
                    outcome = outcome_of(future, futures[future])
                    batch.outcomes[outcome.key] = outcome
                    course_writer.record(outcome)
                    future.release()
                    bar.update()
        graded_at = time.perf_counter()
        write_notes(root, batch.outcomes)
        if progress:
            print(say("exporting"), file=sys.stderr)
        nbgrader(root, "export", "--to", str(root / "grades.csv"))
    batch.phases = {"autograde_seconds": round(graded_at - started, 1),
                    "export_seconds": round(time.perf_counter() - graded_at, 1)}
    stats = course_writer.stats | {"_phases": batch.phases | {"sandboxed": sandbox}}
    (root / STATS).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return batch


def write_notes(root: Path, outcomes: dict[SubmissionKey, Outcome]) -> None:
    """Add what grading found to the course's ``grading_notes.json`` (the report's notes and failing checks)."""
    stored = read_notes(root)
    for key, outcome in outcomes.items():
        notes = outcome.notes if outcome.status == "graded" else [f"not graded: {outcome.reason}"]
        stored[str(key)] = {"notes": notes, "failures": outcome.failures}
    (root / NOTES).write_text(json.dumps(stored, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_notes(root: Path) -> dict[str, dict[str, list[str]]]:
    """What grading found about every submission so far, by ``student/lesson``: its notes and failing checks."""
    path = root / NOTES
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    # Courses graded by an earlier version kept the notes alone, as a list.
    return {key: value if isinstance(value, dict) else {"notes": value, "failures": []}
            for key, value in stored.items()}
