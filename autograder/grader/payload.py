"""The records that travel between the grading main process and a worker: a job in, an outcome out.

Every field is plain data (bytes, strings, numbers), so a job runs the same on a local worker and on a
remote machine, and an outcome is read as data, never executed. The shapes follow PrairieLearn's
external grader: a job names its submission, its files, its limits; an outcome says whether the
submission was graded, could not be graded (``not_gradable``: the submission's own doing, the reason is
for the student) or the grader failed (``failed``: lost workers, a job stopped from outside; the reason
is for the instructor), with the grades, the files that come back and nbgrader's log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from autograder.grader.limits import DEFAULT, Limits

Status = Literal["graded", "not_gradable", "failed"]
FeedbackDetail = Literal["full", "score"]


@dataclass(frozen=True, order=True)
class SubmissionKey:
    """Whose submission of which lesson."""

    student: str
    lesson: str

    def __str__(self) -> str:
        return f"{self.student}/{self.lesson}"


@dataclass
class CourseFiles:
    """What a worker needs of the course to grade one lesson, sent once per worker.

    ``files`` are course-relative (``nbgrader_config.py``, ``gradebook.db`` without students,
    ``source/<lesson>/…``); ``reference`` is the source of ``solutions/<lesson>.py``: the hidden tests
    are verified against it on the worker, which therefore needs no copy of the repository's answers.
    """

    course_id: str
    lesson: str
    language: str
    files: dict[str, bytes]
    reference: bytes = b""
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            hasher = hashlib.sha256(self.reference)
            for name in sorted(self.files):
                hasher.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
            self.digest = hasher.hexdigest()[:16]

    def lesson_files(self) -> frozenset[str]:
        """The lesson's files besides its notebook (runtime, data), relative to the lesson's folder."""
        prefix = f"source/{self.lesson}/"
        return frozenset(name[len(prefix):] for name in self.files
                         if name.startswith(prefix) and not name.endswith(".ipynb"))


@dataclass
class JobSpec:
    """One submission to grade."""

    key: SubmissionKey
    files: dict[str, bytes]  # relative to submitted/<student>/<lesson>/
    seed: int
    limits: Limits = DEFAULT
    sandbox: bool = True
    version: str = ""  # the main process's code fingerprint: a worker running other code refuses the job
    threads: int = 1  # the kernel's threads when run outside Dask
    threads_by_worker: dict[str, int] = field(default_factory=dict)  # ... per Dask worker address
    feedback: FeedbackDetail = "full"  # what the feedback page shows (grading on submit may show the score only)
    # Start the next submission's kernel while this one is graded: True always (grading on submit: the student's
    # wait), False never, None where the worker's kernels leave cores idle (with every core busy it only moves work).
    kernels_ahead: bool | None = None


@dataclass(frozen=True)
class CellGrade:
    """One grade cell's result, as nbgrader's gradebook holds it."""

    auto: float | None
    manual: float | None = None
    extra: float | None = None
    needs_manual: bool = False


@dataclass(frozen=True)
class CellComment:
    auto: str | None
    manual: str | None = None


@dataclass(frozen=True)
class NotebookGrades:
    flagged: bool
    late_penalty: float | None
    grades: dict[str, CellGrade]  # by grade cell id
    comments: dict[str, CellComment]  # by answer cell id


@dataclass(frozen=True)
class Grades:
    """A graded submission's gradebook rows: what the main process merges into the course's gradebook."""

    timestamp: str | None  # ISO, the submission's time
    notebooks: dict[str, NotebookGrades]

    @property
    def score(self) -> float:
        return sum(grade.auto or 0 for notebook in self.notebooks.values() for grade in notebook.grades.values())


@dataclass
class Outcome:
    """What came of one job."""

    key: SubmissionKey
    status: Status
    reason: str = ""  # why it was not graded (not_gradable, failed)
    grades: Grades | None = None
    graded: dict[str, bytes] = field(default_factory=dict)  # autograded/<student>/<lesson>/…
    feedback: dict[str, bytes] = field(default_factory=dict)  # feedback/<student>/<lesson>/…
    notes: list[str] = field(default_factory=list)  # for the instructor: hidden-test verdicts, kernel deaths, files
    failures: list[str] = field(default_factory=list)  # the first line of each failing check (the class report)
    stats: dict[str, Any] = field(default_factory=dict)  # seconds, peak memory, per-phase seconds (benchmarks)
    log: str = ""  # the end of nbgrader's log of this job

    @classmethod
    def without_grades(cls, key: SubmissionKey, status: Status, reason: str, log: str = "") -> Outcome:
        """A submission that was not graded (otter's ``without_results``): recorded with 0 and why."""
        return cls(key, status, reason, log=log)
