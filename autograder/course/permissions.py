"""Who may read a course: its instructor, and a group of teaching assistants when the course names one.

On a shared hub the students are other users of the same machine. The course folder holds the
gradebook, ``grades.csv``, the lessons' sources (hidden tests included) and every student's
submission, graded notebook and feedback, so it is the instructor's alone: mode 0700, or 0750 with
the course's ``--group`` (folders set-group-id, so what is created later belongs to the group too).
Whatever an nbgrader command leaves inside (``nbgrader collect`` makes submissions 0777) is then
out of other users' reach, and :func:`repair` takes the write permission for others away again
before grading reads the submissions.

The exchange is shared by design. :func:`prepare_exchange` makes the course's folders in it the
instructor's own before students can: ``inbound/`` is write-only for students and sticky (nobody
renames or deletes another's submission), ``outbound/`` readable, ``feedback/`` traversable only (a
student reads the one file whose name only they can compute).
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

from autograder.course import CourseError

INBOUND_MODE = 0o3733  # set-group-id and sticky; students: write and traverse, not list
OUTBOUND_MODE = 0o755
FEEDBACK_MODE = 0o711
COURSE_IN_EXCHANGE_MODE = 0o755


def group_id(group: str | None) -> int | None:
    """The gid of ``group``, which the instructor must belong to; None for no group."""
    if not group:
        return None
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        raise CourseError("no_group", group=group) from None
    if entry.gr_gid not in os.getgroups() and os.geteuid() != 0:
        raise CourseError("not_in_group", group=group)
    return entry.gr_gid


def _walk(root: Path) -> list[tuple[Path, os.stat_result]]:
    """Every folder and file under ``root`` (itself included), never through a link."""
    found = [(root, os.lstat(root))]
    for base, dirs, files in os.walk(root):  # does not enter linked folders
        for name in dirs + files:
            path = Path(base) / name
            found.append((path, os.lstat(path)))
    return found


def make_private(root: Path, group: str | None = None) -> None:
    """Give the course folder to the instructor (and ``group``): no other user reads or writes anything in it."""
    gid = group_id(group)
    for path, info in _walk(root):
        if stat.S_ISLNK(info.st_mode):
            continue
        if gid is not None and info.st_gid != gid:
            os.chown(path, -1, gid, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            mode = 0o2750 if gid is not None else 0o700
        else:
            mode = (0o640 if gid is not None else 0o600) | (info.st_mode & 0o100)
        os.chmod(path, mode)


def repair(folder: Path, group: str | None = None) -> None:
    """Take write permission for group and others, and anything for others, off ``folder``'s tree.

    ``nbgrader collect`` copies submissions with mode 0777; here they become the instructor's again.
    """
    if not folder.exists():
        return
    keep_group = 0o050 if group else 0
    for path, info in _walk(folder):
        if not stat.S_ISLNK(info.st_mode):
            os.chmod(path, stat.S_IMODE(info.st_mode) & (0o700 | keep_group | 0o2000))


def open_to_others(root: Path) -> bool:
    """Whether users other than the owner and the course's group can enter the course folder."""
    return bool(os.stat(root).st_mode & 0o007)


def _make_own(path: Path, mode: int) -> None:
    """Create ``path`` with ``mode``, or check that the existing one is ours (else someone prepared a trap)."""
    if path.is_symlink():
        raise CourseError("exchange_link", path=path)
    if path.exists():
        if os.lstat(path).st_uid not in (os.geteuid(), 0):
            raise CourseError("exchange_foreign", path=path)
    else:
        path.mkdir()
    os.chmod(path, mode)


def prepare_exchange(exchange: Path, course_id: str) -> None:
    """The course's folders in the exchange, the instructor's own, with the modes in the module's docstring."""
    if not exchange.exists():
        exchange.mkdir(parents=True)
        os.chmod(exchange, 0o1777)  # as the README has the administrator create it
    course = exchange / course_id
    _make_own(course, COURSE_IN_EXCHANGE_MODE)
    _make_own(course / "inbound", INBOUND_MODE)
    _make_own(course / "outbound", OUTBOUND_MODE)
    _make_own(course / "feedback", FEEDBACK_MODE)
