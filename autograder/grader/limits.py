"""Every limit on what grading one submission may use, in one place, with its default and why.

PrairieLearn keeps its grader's limits in one schema; so does this course. The instructor sets the
ones marked "CLI" on ``grade`` (and ``serve``); the rest are fixed by the course's design. Time and
memory are enforced by the grader (a watchdog kills the kernel), processes and file sizes by the
kernel's sandbox, disk by a size-limited file system the whole job runs on, and the rest when the
results are read back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from autograder.learner.checks.hidden import MAX_UNPACKED

KIB, MIB, GIB = 2**10, 2**20, 2**30


@dataclass(frozen=True)
class Limits:
    """What grading one submission may use."""

    # --- time ---
    cell_timeout: int = 120  # s per cell (a course setting, in its nbgrader_config.py): a stuck cell is interrupted
    interrupt_grace: int = 10  # s a cell gets to stop after that interrupt; a kernel that ignores it is killed
    # CLI --time-limit. A submission grades in ~20 s in the fast mode on 2 cores; 600 s leaves room for a
    # machine 3-4x slower and a few cells that hit the cell timeout, and is PrairieLearn's default job limit.
    # Past it the kernel is killed and the submission keeps the points earned so far.
    submission_time: int = 600
    overhead_time: int = 180  # s beyond submission_time for nbgrader's own work before the job is stopped

    # --- memory, processes, files (the kernel's sandbox) ---
    memory: int = 6 * GIB  # CLI --memory-limit: the kernel's process tree (PSS); 0 = none
    kernel_processes: int = 512  # processes and threads of one kernel (a TensorFlow kernel runs ~100)
    open_files: int = 1024
    kernel_tmp: int = 512 * MIB  # the kernel's private /tmp (memory-backed)
    # CLI --disk-limit: everything one job writes (the kernel's folder, recordings, nbgrader's files). The job's
    # folder is a size-limited tmpfs, so a kernel that fills it gets ENOSPC and the machine's disk never fills;
    # being memory-backed, it costs memory only as far as it is used.
    disk: int = 1 * GIB

    # --- what comes back from a job ---
    returned_files: int = 10_000  # CLI --max-files: files of a graded folder kept (the rest are named once)
    returned_file_bytes: int = 20 * MIB  # one file
    returned_bytes: int = 100 * MIB  # one graded (or feedback) folder
    collect_seconds: float = 30.0  # time spent walking a graded folder before the rest is left out
    folder_depth: int = 32  # nested folders followed when collecting
    recording_bytes: int = 64 * MIB  # one hidden-test recording as written
    recording_unpacked: int = MAX_UNPACKED  # its arrays once unpacked (a zip bomb stops here)
    submission_bytes: int = 50 * MIB  # a submitted folder sent to a worker
    # ... and its files: nbgrader copies a submission with a glob per file and ignore pattern (quadratic),
    # minutes for ten thousand files; a lesson needs its notebook and perhaps a few files of its own.
    submission_files: int = 1_000
    log_bytes: int = 256 * KIB  # the end of nbgrader's log kept beside each graded notebook

    # --- what a page shows ---
    output_chars: int = 20_000  # characters of one output (nbgrader's LimitOutput counts lines only)
    output_lines: int = 200  # nbgrader's LimitOutput
    traceback_lines: int = 60

    @property
    def file_size(self) -> int:
        """The largest file a kernel may write (RLIMIT_FSIZE): never more than the whole job's disk."""
        return self.disk

    @property
    def job_seconds(self) -> int:
        """When a whole job (nbgrader, the kernel, collecting) is stopped from outside."""
        return self.submission_time + self.overhead_time

    def replace(self, **changes: object) -> Limits:
        """A copy with ``changes``; ``None`` values keep the default."""
        return dataclasses.replace(self, **{key: value for key, value in changes.items() if value is not None})

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> Limits:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


DEFAULT = Limits()
