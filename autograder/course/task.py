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
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.checks import CheckFailed, hidden, quiet_stderr
from autograder.course.build import NBGRADER
from autograder.course.nbgrader_cli import error_cause
from autograder.course.version import fingerprint
from autograder.i18n import message

# What comes back from a worker is bounded: a kernel can write up to the sandbox's file-size limit.
MAX_FILE = 20 * 2**20
MAX_FOLDER = 100 * 2**20
MAX_RECORDING = 64 * 2**20
RECORDING_NAME = re.compile(r"^[A-Za-z0-9_]{1,80}(\.npz|\.error\.txt)$")


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
    memory_limit: int = 0
    timeout: int = 1800
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


def read_folder(folder: Path, max_file: int = MAX_FILE,
                max_total: int = MAX_FOLDER) -> tuple[dict[str, bytes], list[str]]:
    """Plain files under ``folder`` as bytes, never following a link; what was left out, and why."""
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    total = 0
    for base, dirs, names in os.walk(folder):  # lists linked folders among dirs, never enters them
        dirs.sort()
        for name in sorted(dirs + names):
            path = os.path.join(base, name)
            relative = os.path.relpath(path, folder)
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped.append(f"{relative} (not a plain file)")
            elif info.st_size > max_file or total + info.st_size > max_total:
                skipped.append(f"{relative} ({info.st_size} bytes, over the limit)")
            else:
                descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(descriptor, "rb") as file:
                    files[relative] = file.read(max_file + 1)[:max_file]
                total += len(files[relative])
    return files, skipped


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Recreate ``folder`` from bytes; every name must stay inside it (no absolute paths, no ``..``)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for relative, data in files.items():
        parts = Path(relative).parts
        if not parts or Path(relative).is_absolute() or ".." in parts:
            raise ValueError(f"unsafe file name {relative!r}")
        target = folder.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_materialized: dict[str, Path] = {}


def _scratch_root() -> str | None:
    """A Dask worker's own folder (Dask removes it with the worker), else the system's temp folder."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _course_folder(course: CourseFiles) -> Path:
    """The course files on this worker's disk, written once per worker and lesson, removed at exit."""
    if course.digest not in _materialized or not _materialized[course.digest].is_dir():
        folder = Path(tempfile.mkdtemp(prefix=f"autograder-course-{course.lesson}-", dir=_scratch_root()))
        atexit.register(shutil.rmtree, folder, True)
        for relative, data in course.files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        _materialized[course.digest] = folder
    return _materialized[course.digest]


def _worker_env(record_dir: Path, seed: int, threads: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # keep solutions out of reach
    # The seed is not a secret (see the README's security model): without the reference, which the
    # sandbox hides, knowing the inputs does not give the expected outputs.
    env.update({hidden.RECORD_ENV: str(record_dir), hidden.SEED_ENV: str(seed), "TF_CPP_MIN_LOG_LEVEL": "2"})
    # Parallel kernels share the cores instead of each starting a thread per core.
    env.update({"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": str(threads)})
    return env


def _failure_line(run: subprocess.CompletedProcess[str]) -> str:
    return (error_cause(run.stdout + "\n" + run.stderr) or f"nbgrader exited with {run.returncode}")[:500]


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


def load_recordings(folder: Path) -> dict[str, bytes | str]:
    """The hidden tests' recordings, validated: known names, plain files, bounded size."""
    recordings: dict[str, bytes | str] = {}
    if not folder.is_dir():
        return recordings
    for entry in os.scandir(folder):
        if not RECORDING_NAME.match(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_size > MAX_RECORDING:
            recordings[entry.name] = f"recording larger than {MAX_RECORDING // 2**20} MiB"
            continue
        descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as file:
            recordings[entry.name] = file.read(MAX_RECORDING + 1)
    return recordings


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


def _kernel_deaths(graded: dict[str, bytes], notebook_name: str) -> list[str]:
    data = graded.get(notebook_name)
    if not data:
        return []
    cells = json.loads(data).get("cells", [])
    return [output.get("evalue", "") for cell in cells if cell.get("cell_type") == "code"
            for output in cell.get("outputs", []) if output.get("ename") == "KernelDied"]


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


def grade_submission(course: CourseFiles, submission: SubmissionInput) -> TaskResult:
    """Autograde one submission in a temporary folder; everything it needs and returns is bytes."""
    if submission.version and submission.version != fingerprint():
        raise WorkerMismatch(f"worker runs autograder {fingerprint()}, the grader {submission.version}")
    start = time.perf_counter()
    result = TaskResult(submission.student, submission.lesson)
    student, lesson = submission.student, submission.lesson
    course_root = _course_folder(course)
    with tempfile.TemporaryDirectory(prefix="autograder-task-", dir=_scratch_root()) as scratch:
        work = Path(scratch)
        record_dir, stats_file = work / "hidden", work / "kernel.json"
        record_dir.mkdir()
        (work / "source").symlink_to(course_root / "source", target_is_directory=True)
        shutil.copy2(course_root / "gradebook.db", work / "gradebook.db")
        write_folder(work / "submitted" / student / lesson, submission.files)
        (work / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(course_root / 'nbgrader_config.py')!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(work)!r}\nc.RobustExecute.memory_limit = {submission.memory_limit}\n"
            f"c.RobustExecute.sandbox = {submission.sandbox!r}\nc.RobustExecute.stats_file = {str(stats_file)!r}\n",
            encoding="utf-8")
        env = _worker_env(record_dir, submission.seed, submission.kernel_threads())
        try:
            run = subprocess.run([*NBGRADER, "autograde", lesson, "--student", student, "--force"], cwd=work,
                                 env=env, capture_output=True, text=True, timeout=submission.timeout)
            graded_dir = work / "autograded" / student / lesson
            if run.returncode != 0 or not graded_dir.is_dir():
                result.failure = _failure_line(run)
        except subprocess.TimeoutExpired:
            result.failure = f"grading took longer than {submission.timeout} s"
        if not result.failure:
            result.graded, skipped = read_folder(graded_dir)
            result.notes.extend(f"not kept: {item}" for item in skipped)
            with quiet_stderr():  # TensorFlow's start-up lines would reach the instructor's console
                result.notes.extend(verify_hidden(work / "gradebook.db", course, student,
                                                  load_recordings(record_dir), submission.seed))
            result.notes.extend(_kernel_deaths(result.graded, f"{lesson}.ipynb"))
            result.grades = read_grades(work / "gradebook.db", course.course_id, lesson, student)
            problem = generate_feedback(work, lesson, student)
            if problem:
                result.notes.append(f"no feedback: {problem}")
            else:
                result.feedback, _ = read_folder(work / "feedback" / student / lesson)
        peak = json.loads(stats_file.read_text())["peak_rss_bytes"] if stats_file.exists() else 0
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
