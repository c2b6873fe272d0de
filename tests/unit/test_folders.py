"""Folders as bytes, both ways: plain files only, every limit held, what is left out said once per kind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder.grader.folders import left_out_notes, read_folder, trim_folder, write_folder
from autograder.grader.limits import DEFAULT


def make(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def test_plain_files_come_back_and_links_never_are_followed(tmp_path: Path) -> None:
    secret = make(tmp_path / "outside", {"secret.txt": b"the grader's"})
    folder = make(tmp_path / "graded", {"a.txt": b"a", "sub/b.txt": b"b"})
    (folder / "link").symlink_to(secret / "secret.txt")
    (folder / "linked_folder").symlink_to(secret, target_is_directory=True)
    os.mkfifo(folder / "pipe")
    collected = read_folder(folder)
    assert collected.files == {"a.txt": b"a", "sub/b.txt": b"b"}
    assert collected.left_out["not_plain"].count == 3
    assert b"the grader's" not in b"".join(collected.files.values())


def test_count_size_and_depth_limits_hold(tmp_path: Path) -> None:
    limits = DEFAULT.replace(returned_files=5, returned_file_bytes=100, returned_bytes=250, folder_depth=3)
    folder = make(tmp_path / "graded", {f"many/{n:02d}": b"x" for n in range(20)}
                  | {"big.bin": b"y" * 101, "a/b/c/d/deep.txt": b"z", "m1": b"m" * 100, "m2": b"m" * 100,
                     "m3": b"m" * 100})
    collected = read_folder(folder, limits)
    assert len(collected.files) == 5 and collected.unread
    assert "big.bin" not in collected.files
    assert collected.size <= 250
    assert set(collected.left_out) >= {"too_big", "too_many"}
    deep = read_folder(folder, limits.replace(returned_files=100))
    assert "a/b/c/d/deep.txt" not in deep.files and deep.left_out["too_deep"].count == 1
    assert deep.left_out["over_total"].count >= 1


def test_a_hundred_thousand_files_cost_seconds_and_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "graded" / "many"
    folder.mkdir(parents=True)
    for n in range(100_000):
        (folder / str(n)).touch()
    started = time.monotonic()
    collected = read_folder(tmp_path / "graded")
    assert len(collected.files) == DEFAULT.returned_files
    assert time.monotonic() - started < DEFAULT.collect_seconds
    notes = left_out_notes(collected, "en")
    assert len(notes) == 1 and notes[0].startswith("More than 10,000 files: the rest, from many/")
    assert left_out_notes(collected, "ru")[0].startswith("Файлов больше 10\u00a0000: остальные, начиная с many/")


def test_collecting_stops_when_its_time_is_up(tmp_path: Path) -> None:
    folder = make(tmp_path / "graded", {f"{n}": b"" for n in range(600)})
    collected = read_folder(folder, DEFAULT.replace(collect_seconds=0))
    assert collected.unread and "out_of_time" in collected.left_out and len(collected.files) < 600


def test_left_out_notes_name_a_few_files_once_per_kind(tmp_path: Path) -> None:
    limits = DEFAULT.replace(returned_file_bytes=1)
    folder = make(tmp_path / "graded", {f"big{n}": b"xx" for n in range(7)})
    (note,) = left_out_notes(read_folder(folder, limits), "en", limits)
    assert note == "Not kept, larger than 0\u00a0MiB: 7 files (big0, big1, big2, …)."



def test_left_out_names_show_control_characters_as_escapes(tmp_path: Path) -> None:
    limits = DEFAULT.replace(returned_file_bytes=1)
    folder = make(tmp_path / "graded", {"\x1b]0;owned\x07\u202ebig": b"xx"})
    (note,) = left_out_notes(read_folder(folder, limits), "en", limits)
    assert note == "Not kept, larger than 0\u00a0MiB: 1 file (\\x1b]0;owned\\x07\\u202ebig)."

def test_trimming_deletes_what_can_never_come_back(tmp_path: Path) -> None:
    limits = DEFAULT.replace(returned_file_bytes=100, returned_bytes=250)
    folder = make(tmp_path / "graded", {"huge": b"h" * 1000, "a": b"a" * 90, "b": b"b" * 90, "c": b"c" * 90,
                                        "small": b"s"})
    trimmed = trim_folder(folder, limits)
    assert not (folder / "huge").exists() and (folder / "small").exists()
    remaining = sum(path.stat().st_size for path in folder.iterdir())
    assert remaining <= 250
    assert trimmed.left_out["too_big"].examples == ["huge"] and trimmed.left_out["over_total"].count == 1


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape", "a/../../escape", "", "a\0b"])
def test_writing_refuses_names_that_leave_the_folder(tmp_path: Path, name: str) -> None:
    target = make(tmp_path / "target", {"kept": b"k"})
    with pytest.raises(ValueError, match="unsafe file name"):
        write_folder(target, {"fine": b"f", name: b"x"})
    assert (target / "kept").read_bytes() == b"k"  # nothing was removed before the names were checked


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    files = {"a.txt": b"a", "x/y/z.bin": bytes(range(256))}
    write_folder(tmp_path / "out", files)
    assert read_folder(tmp_path / "out").files == files
