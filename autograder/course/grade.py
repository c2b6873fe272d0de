"""``python -m autograder grade DIR [--jobs N]``: autograde every submission with real nbgrader, in parallel.

nbgrader grades one submission at a time and keeps everything in one SQLite gradebook. Here
each submission is autograded by ``nbgrader autograde`` in a worker folder of its own, with
its own copy of the gradebook and a fresh kernel; the main thread then merges the worker's
grades into the course gradebook one submission at a time, so two processes never write it
at once. After the merge the grader checks the hidden tests' recordings against the
reference (outside any learner's kernel) and zeroes a grade cell whose hidden test fails.
A submission that cannot be graded (missing, not a notebook, grading crashed) is recorded
with zero points and the reason — never dropped.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from tqdm import tqdm

from autograder.checks import CheckFailed, hidden
from autograder.course import CourseError, use_solutions
from autograder.course.build import COURSE_ID, NBGRADER, nbgrader, read_course
from autograder.i18n import message

NOTES = "grading_notes.json"
STATS = "grading_stats.json"


@dataclass
class Submission:
    student: str
    lesson: str
    notebook: Path
    problem: str = ""  # why it cannot be graded at all, if it cannot


@dataclass
class Outcome:
    submission: Submission
    workdir: Path | None = None
    record_dir: Path | None = None
    failure: str = ""  # why grading crashed, if it did
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def stats(self) -> dict[str, float]:
        """Wall time of the worker and the kernel's peak resident memory, for benchmarks."""
        kernel = self.record_dir / "kernel.json" if self.record_dir else None
        peak = json.loads(kernel.read_text())["peak_rss_bytes"] if kernel and kernel.exists() else 0
        return {"seconds": round(self.seconds, 2), "peak_rss_bytes": peak}


def find_submissions(root: Path, lessons: list[str]) -> list[Submission]:
    found = []
    for student_dir in sorted(p for p in (root / "submitted").glob("*") if p.is_dir()):
        for lesson in lessons:
            folder = student_dir / lesson
            if not folder.is_dir():
                continue
            notebook = folder / f"{lesson}.ipynb"
            submission = Submission(student_dir.name, lesson, notebook)
            if not notebook.is_file():
                submission.problem = f"no notebook {notebook.name} in the submission"
            else:
                try:
                    nbformat.read(notebook, as_version=4)
                except Exception as error:  # noqa: BLE001 - any unreadable file is reported the same way
                    submission.problem = f"{notebook.name} is not a valid notebook ({type(error).__name__})"
            found.append(submission)
    return found


def _worker_env(record_dir: Path, seed: int, threads: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # keep solutions out of reach
    env.update({hidden.RECORD_ENV: str(record_dir), hidden.SEED_ENV: str(seed), "TF_CPP_MIN_LOG_LEVEL": "2"})
    # Parallel kernels share the cores instead of each starting a thread per core.
    env.update({"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": str(threads)})
    return env


def _autograde(root: Path, snapshot: Path, scratch: Path, submission: Submission, seed: int,
               memory_limit: int, timeout: int, threads: int) -> Outcome:
    """Autograde one submission in its own folder; runs in a worker thread (and its own processes)."""
    outcome = Outcome(submission)
    workdir = scratch / f"{submission.student}--{submission.lesson}"
    record_dir = workdir / "hidden"
    (workdir / "submitted" / submission.student).mkdir(parents=True)
    record_dir.mkdir()
    (workdir / "source").symlink_to(root / "source", target_is_directory=True)
    (workdir / "submitted" / submission.student / submission.lesson).symlink_to(
        submission.notebook.parent, target_is_directory=True)
    shutil.copy2(snapshot, workdir / "gradebook.db")
    (workdir / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nload_subconfig({str(root / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(workdir)!r}\nc.RobustExecute.memory_limit = {memory_limit}\n",
        encoding="utf-8")
    outcome.workdir, outcome.record_dir = workdir, record_dir
    start = time.perf_counter()
    try:
        run = subprocess.run(
            [*NBGRADER, "autograde", submission.lesson, "--student", submission.student,
             "--force"], cwd=workdir, env=_worker_env(record_dir, seed, threads), capture_output=True, text=True,
            timeout=timeout)
        autograded = workdir / "autograded" / submission.student / submission.lesson
        if run.returncode != 0 or not autograded.is_dir():
            lines = [line for line in (run.stderr + run.stdout).splitlines() if "ERROR" in line or "Error" in line]
            outcome.failure = lines[-1].strip() if lines else f"nbgrader exited with {run.returncode}"
    except subprocess.TimeoutExpired:
        outcome.failure = f"grading took longer than {timeout} s"
    outcome.seconds = time.perf_counter() - start
    return outcome


def _replace_submission(gb: Gradebook, lesson: str, student: str, timestamp: object = None) -> object:
    """The student's submission row, created if new; callers then set every grade explicitly."""
    gb.update_or_create_student(student)
    return gb.update_or_create_submission(lesson, student, **({"timestamp": timestamp} if timestamp else {}))


def _record_zero(gb: Gradebook, submission: Submission) -> None:
    record = _replace_submission(gb, submission.lesson, submission.student)
    for notebook in record.notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
    gb.db.commit()


def _merge(gb: Gradebook, outcome: Outcome) -> None:
    """Copy one worker's grades into the course gradebook (main thread only)."""
    submission = outcome.submission
    with Gradebook(f"sqlite:///{outcome.workdir / 'gradebook.db'}", COURSE_ID) as worker:
        done = worker.find_submission(submission.lesson, submission.student)
        record = _replace_submission(gb, submission.lesson, submission.student, done.timestamp)
        for worker_notebook in done.notebooks:
            notebook = gb.find_submission_notebook(worker_notebook.name, submission.lesson, submission.student)
            notebook.flagged = worker_notebook.flagged
            notebook.late_submission_penalty = worker_notebook.late_submission_penalty
            for grade in worker_notebook.grades:
                target = gb.find_grade(grade.name, worker_notebook.name, submission.lesson, submission.student)
                target.auto_score, target.manual_score = grade.auto_score, grade.manual_score
                target.extra_credit, target.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
            for comment in worker_notebook.comments:
                target = gb.find_comment(comment.name, worker_notebook.name, submission.lesson, submission.student)
                target.auto_comment, target.manual_comment = comment.auto_comment, comment.manual_comment
    gb.db.commit()
    del record


def _verify_hidden(gb: Gradebook, outcome: Outcome, seed: int, lang: str) -> None:
    """Zero every grade cell whose recorded hidden-test outputs disagree with the reference."""
    submission = outcome.submission
    checks = importlib.import_module(f"autograder.checks.{submission.lesson}")
    if not hasattr(checks, "verify_hidden"):
        return
    use_solutions()
    reference = importlib.import_module(f"solutions.{submission.lesson}")
    os.environ["RESNET_COURSE_LANG"] = lang  # messages of the verdicts in the course's language
    record = gb.find_submission(submission.lesson, submission.student)
    for notebook in record.notebooks:
        verdicts: dict[str, list[str]] = {}
        for grade in notebook.grades:
            if not grade.auto_score:
                continue
            recorded = hidden.recorded(outcome.record_dir, grade.name)
            try:
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
            outcome.notes.append(verdict)
            verdicts.setdefault(checks.exercise_of(grade.name), []).append(verdict)
        _comment_on_answers(gb, submission, notebook.name, verdicts)
    gb.db.commit()


def _comment_on_answers(gb: Gradebook, submission: Submission, notebook: str, verdicts: dict[str, list[str]]) -> None:
    """Put the hidden tests' verdicts in nbgrader's comment on the answer cell, which feedback HTML shows.

    Without it the feedback would show only what the grade cell printed in the kernel
    ("passed"), next to a score of 0.
    """
    for answer, lines in verdicts.items():
        comment = gb.find_comment(answer, notebook, submission.lesson, submission.student)
        comment.auto_comment = "\n\n".join(([comment.auto_comment] if comment.auto_comment else []) + lines)


def _install_autograded(root: Path, outcome: Outcome) -> None:
    submission = outcome.submission
    target = root / "autograded" / submission.student / submission.lesson
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(outcome.workdir / "autograded" / submission.student / submission.lesson, target)


def _kernel_deaths(root: Path, submission: Submission) -> list[str]:
    path = root / "autograded" / submission.student / submission.lesson / submission.notebook.name
    if not path.exists():
        return []
    notebook = nbformat.read(path, as_version=4)
    return [output.evalue for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.get("ename") == "KernelDied"]


def _feedback_and_export(root: Path, lessons: list[str], jobs: int) -> None:
    """Feedback HTML and grades.csv, by nbgrader, on up to ``jobs`` processes at once.

    Each lesson's students are split into ``jobs`` groups, one ``generate_feedback`` each;
    ``export`` runs beside them. All of them only read the gradebook, which SQLite allows.
    """
    jobs = max(1, jobs)
    commands = [("export", "--to", str(root / "grades.csv"))]
    for lesson in lessons:
        students = sorted(path.parent.name for path in (root / "autograded").glob(f"*/{lesson}"))
        groups = [students[index::jobs] for index in range(min(jobs, len(students)))]
        for group in groups:
            others = sorted(set(students) - set(group))
            exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
            commands.append(("generate_feedback", lesson, "--force", *exclude))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for done in [pool.submit(nbgrader, root, *command) for command in commands]:
            done.result()


def grade(root: Path, jobs: int = 1, memory_limit: int = 0, timeout: int = 1800, progress: bool = True) -> dict:
    """Grade every submission under ``root/submitted``; return the notes per ``student/lesson``."""
    root = root.resolve()
    course = read_course(root)
    submissions = find_submissions(root, course["lessons"])
    if not submissions:
        raise CourseError(f"no submissions in {root / 'submitted'} (expected submitted/<student>/<lesson>/)")
    notes_path = root / NOTES
    notes: dict[str, list[str]] = json.loads(notes_path.read_text(encoding="utf-8")) if notes_path.exists() else {}
    started = time.perf_counter()
    seed = secrets.randbelow(2**31)
    stats: dict[str, dict[str, float]] = {}
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db_url, COURSE_ID) as gb:
        for submission in submissions:
            gb.update_or_create_student(submission.student)
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch_name, \
            Gradebook(db_url, COURSE_ID) as gb, \
            tqdm(total=len(submissions), desc="grading", unit="submission", disable=not progress,
                 file=sys.stderr) as bar:
        scratch = Path(scratch_name)
        snapshot = scratch / "gradebook-snapshot.db"
        shutil.copy2(root / "gradebook.db", snapshot)
        gradable = [s for s in submissions if not s.problem]
        for submission in submissions:
            if submission.problem:
                _record_zero(gb, submission)
                notes[f"{submission.student}/{submission.lesson}"] = [submission.problem]
                print(f"{submission.student}/{submission.lesson}: {submission.problem}", file=sys.stderr)
                bar.update()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
            futures = [pool.submit(_autograde, root, snapshot, scratch, s, seed, memory_limit, timeout, threads)
                       for s in gradable]
            for future in as_completed(futures):
                outcome = future.result()
                submission = outcome.submission
                key = f"{submission.student}/{submission.lesson}"
                merge_start = time.perf_counter()
                if outcome.failure:
                    _record_zero(gb, submission)
                    outcome.notes.append(f"not graded: {outcome.failure}")
                    print(f"{key}: {outcome.failure}", file=sys.stderr)
                else:
                    _merge(gb, outcome)
                    _install_autograded(root, outcome)
                    _verify_hidden(gb, outcome, seed, course["language"])
                    outcome.notes.extend(_kernel_deaths(root, submission))
                notes[key] = outcome.notes
                stats[key] = outcome.stats() | {"main_thread_seconds": round(time.perf_counter() - merge_start, 2)}
                bar.update()
    notes_path.write_text(json.dumps(notes, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    graded_at = time.perf_counter()
    if progress:
        print("writing feedback (feedback/) and grades.csv with nbgrader…", file=sys.stderr)
    _feedback_and_export(root, sorted({s.lesson for s in submissions}), jobs)
    stats["_phases"] = {"autograde_seconds": round(graded_at - started, 1),
                        "feedback_and_export_seconds": round(time.perf_counter() - graded_at, 1)}
    (root / STATS).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return notes
