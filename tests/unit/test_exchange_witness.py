"""The exchange's witness: who owns a submission folder and when it last changed, whatever it says itself."""

from __future__ import annotations

import datetime
import os
import pwd
import time
from pathlib import Path

import pytest

from autograder.course.exchange import examine, last_change
from autograder.course.permissions import INBOUND_MODE, make_private, prepare_exchange, repair

ME = pwd.getpwuid(os.geteuid()).pw_name


def submission(inbound: Path, student: str, stamp: str = "2020-01-01 00:00:00.000000 UTC") -> Path:
    folder = inbound / f"{student}+residual_networks+{stamp}+abcd"
    folder.mkdir(parents=True)
    (folder / "residual_networks.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text(stamp)  # what the student claims
    return folder


def test_a_folder_counts_for_its_owner_at_its_last_change(tmp_path: Path) -> None:
    folder = submission(tmp_path, ME)
    seen = examine(folder)
    assert not seen.problem and seen.student == ME
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert abs((seen.time - now).total_seconds()) < 60  # not the 2020 the folder claims


def test_a_folder_named_after_someone_else_is_refused(tmp_path: Path) -> None:
    other = next(entry.pw_name for entry in pwd.getpwall() if entry.pw_uid != os.geteuid())
    seen = examine(submission(tmp_path, other))
    assert seen.problem == f"named after {other} but owned by {ME}"


def test_a_link_is_not_a_submission(tmp_path: Path) -> None:
    target = submission(tmp_path / "elsewhere", ME)
    (tmp_path / f"{ME}+residual_networks+x+y").symlink_to(target, target_is_directory=True)
    assert examine(tmp_path / f"{ME}+residual_networks+x+y").problem == "not a folder"


def test_the_time_is_the_latest_change_anywhere_inside(tmp_path: Path) -> None:
    folder = submission(tmp_path, ME)
    before = last_change(folder)
    time.sleep(1.1)
    (folder / "sub").mkdir()
    (folder / "sub" / "late.txt").write_text("added after the deadline")
    os.utime(folder / "sub" / "late.txt", (0, 0))  # mtime can be set back; ctime cannot
    assert last_change(folder) > before


def test_the_course_folder_is_private(tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / "submitted" / "bob" / "lesson").mkdir(parents=True)
    (course / "gradebook.db").write_text("")
    os.chmod(course / "submitted" / "bob" / "lesson", 0o777)  # as nbgrader collect leaves it
    make_private(course)
    assert os.stat(course).st_mode & 0o777 == 0o700
    assert os.stat(course / "gradebook.db").st_mode & 0o077 == 0
    os.chmod(course / "submitted" / "bob" / "lesson", 0o777)
    repair(course / "submitted")
    assert os.stat(course / "submitted" / "bob" / "lesson").st_mode & 0o077 == 0


def test_the_course_folders_in_the_exchange_are_made_the_instructors(tmp_path: Path) -> None:
    prepare_exchange(tmp_path / "exchange", "course-1")
    inbound = tmp_path / "exchange" / "course-1" / "inbound"
    assert os.stat(inbound).st_mode & 0o7777 == INBOUND_MODE
    assert os.stat(tmp_path / "exchange").st_mode & 0o7777 == 0o1777
    prepare_exchange(tmp_path / "exchange", "course-1")  # again: nothing to complain about


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_a_course_folder_someone_else_made_first_is_refused(tmp_path: Path) -> None:
    from autograder.course import CourseError

    trap = tmp_path / "exchange" / "course-1"
    trap.mkdir(parents=True)
    os.chown(trap, 65534, 65534)  # nobody
    with pytest.raises(CourseError, match="belongs to someone else"):
        prepare_exchange(tmp_path / "exchange", "course-1")
