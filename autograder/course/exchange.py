"""A file-system exchange a student cannot forge: who submitted, and when, come from the file system.

nbgrader's exchange believes what a submission folder in ``inbound/`` says about itself: the student
in its name (``bob+lesson+time+random`` — any student can create such a folder: nbgrader #1097) and
the time in its name and in its ``timestamp.txt`` (both written by the student: #1104). nbgrader only
warns when the folder's owner is someone else, and collects it anyway; it also follows links in a
submission with the instructor's rights.

:class:`VerifiedCollect` is nbgrader's own ``collect`` (the course's ``nbgrader_config.py`` sets it as
the exchange's collect step, for ``nbgrader collect`` and formgrader's Collect button alike) with the
file system as witness:

* **who**: a submission counts for the student whose Unix account owns its folder (only root can change
  an owner); a folder named after someone else, or not owned by a user of this machine, is refused and
  reported;
* **when**: the last change anywhere in the folder (``ctime``: set by the kernel on every change and
  never settable back by a user), so a late submission cannot be made to look early; the collected
  ``timestamp.txt`` says that time, and nbgrader's late penalty and "latest submission" use it;
* **what**: plain files only, read without following links and bounded like every submission
  (``autograder.grader.folders``), into a folder only the instructor (and ``--group``) can read;
* **where**: the course's folders in the exchange must be the instructor's (a course folder a student
  made first, to receive everyone's work, is refused), and ``inbound/`` keeps the sticky bit, so no
  student can rename or delete another's submission.
"""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.utils import parse_utc

from autograder.course import say
from autograder.grader.folders import read_folder, write_folder
from autograder.grader.limits import DEFAULT
from autograder.grader.sanitize import terminal_safe

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's, in the UTC zone
MAX_ENTRIES = 10_000  # entries of one submission looked at for its time (a folder beyond is refused)


@dataclass(frozen=True)
class Submitted:
    """One submission folder in ``inbound/``, as the file system vouches for it."""

    student: str
    folder: Path
    time: datetime.datetime  # naive UTC, like nbgrader's parse_utc
    problem: str = ""  # why it is refused, if it is


def last_change(folder: Path) -> datetime.datetime | None:
    """The latest ``ctime`` of ``folder`` and everything in it, as naive UTC; None if it holds too much."""
    latest = os.lstat(folder).st_ctime
    seen = 0
    for base, dirs, files in os.walk(folder):  # never enters linked folders
        for name in dirs + files:
            seen += 1
            if seen > MAX_ENTRIES:
                return None
            latest = max(latest, os.lstat(os.path.join(base, name)).st_ctime)
    return datetime.datetime.fromtimestamp(latest, datetime.UTC).replace(tzinfo=None)


def examine(folder: Path) -> Submitted:
    """Who submitted ``folder`` and when, according to the file system (``problem`` says why not)."""
    student = folder.name.rsplit("+", 3)[0]
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return Submitted(student, folder, datetime.datetime.min, say("submission_not_folder"))
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = f"uid {info.st_uid}"
    if owner != student:
        problem = say("submission_foreign", student=student, owner=owner)
        return Submitted(student, folder, datetime.datetime.min, problem)
    time = last_change(folder)
    if time is None:
        return Submitted(student, folder, datetime.datetime.min, say("submission_too_many", count=MAX_ENTRIES))
    return Submitted(student, folder, time)


def _owned_by_me(path: Path) -> bool:
    return os.lstat(path).st_uid in (os.geteuid(), 0)


class VerifiedCollect(ExchangeCollect):
    """nbgrader's collect, believing the file system rather than the submission (see the module's docstring)."""

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail(say("no_course_id"))
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(say("course_not_found", path=self.inbound_path))
        for path in (Path(self.course_path), Path(self.inbound_path)):
            if not _owned_by_me(path):
                self.fail(say("exchange_foreign", path=path))
        mode = os.stat(self.inbound_path).st_mode
        if not mode & stat.S_ISVTX:  # nbgrader makes it without: anyone could rename anyone's submission
            os.chmod(self.inbound_path, stat.S_IMODE(mode) | stat.S_ISVTX)
        student = self.coursedir.student_id or "*"
        found = [examine(path) for path in Path(self.inbound_path).glob(f"{student}+{self.coursedir.assignment_id}+*")]
        for refused in (item for item in found if item.problem):
            note = say("refused_submission", folder=refused.folder.name, problem=refused.problem)
            self.log.warning(terminal_safe(note, one_line=True))
        records = [{"username": item.student, "filename": item.folder.name, "timestamp": item.time}
                   for item in found if not item.problem]
        self.src_records = self._choose(records)

    def _choose(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The submission to collect per student: the latest, or the latest before the due date if asked."""
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                duedate = None
        chosen = []
        for group in groupby(records, lambda item: item["username"]).values():
            ordered = self._sort_by_timestamp(group)
            early = [item for item in ordered if duedate is not None and item["timestamp"] <= duedate]
            chosen.append(early[0] if self.before_duedate and early else ordered[0])
        return chosen

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        """Plain files only, no link followed, bounded; the submission time the file system vouches for."""
        collected = read_folder(Path(src), DEFAULT, max_bytes=DEFAULT.submission_bytes)
        time = examine(Path(src)).time
        collected.files["timestamp.txt"] = time.strftime(TIMESTAMP_FORMAT).encode()
        staging = Path(dest).with_name(f".{Path(dest).name}.collecting")
        if staging.exists():
            shutil.rmtree(staging)
        old = os.umask(0o077)  # the instructor's alone until the course's own permissions apply
        try:
            write_folder(staging, collected.files)
        finally:
            os.umask(old)
        os.replace(staging, dest) if not os.path.exists(dest) else (shutil.rmtree(dest), os.replace(staging, dest))
        for left in collected.left_out.values():
            note = say("not_collected", folder=Path(src).name, names=", ".join(left.examples))
            self.log.warning(terminal_safe(note, one_line=True))


def trusted_timestamp(folder: Path) -> datetime.datetime | None:
    """The time in a collected submission's ``timestamp.txt`` (naive UTC), as nbgrader reads it."""
    path = folder / "timestamp.txt"
    return parse_utc(path.read_text(encoding="utf-8").strip()) if path.is_file() else None
