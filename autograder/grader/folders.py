"""Folders as bytes, both ways, with hostile contents in mind.

A graded folder is what a learner's kernel left behind: it may hold links to the grader's files,
pipes, enormous files, a hundred thousand empty ones or folders nested a thousand deep.
:func:`read_folder` reads plain files only, never following a link, and stops at the limits on
count, bytes, depth and time; what it leaves out is summed up in a few lines (one per kind, with
a count and a few names), never one line per file. :func:`write_folder` recreates a folder from
such bytes and refuses every name that would leave it.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grader.limits import DEFAULT, Limits

EXAMPLES = 3  # names quoted per kind of left-out file


@dataclass
class LeftOut:
    """The files of one kind that were not kept: how many, and the first few names."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(name)


@dataclass
class Collected:
    """The plain files read from a folder, and what was left out, by kind."""

    files: dict[str, bytes] = field(default_factory=dict)
    left_out: dict[str, LeftOut] = field(default_factory=dict)
    unread: bool = False  # the walk stopped early (count or time): some files were never looked at

    def leave_out(self, kind: str, name: str) -> None:
        self.left_out.setdefault(kind, LeftOut()).add(name)

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


def _entries(folder: Path, max_depth: int) -> Iterator[tuple[str, os.DirEntry[str] | None, int]]:
    """(relative path, entry, depth) of everything under ``folder``, breadth-first, links never entered.

    A folder deeper than ``max_depth`` is yielded with entry None instead of being entered.
    """
    pending: deque[tuple[str, int]] = deque([("", 0)])
    while pending:
        relative, depth = pending.popleft()
        try:
            with os.scandir(folder / relative if relative else folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_dir(follow_symlinks=False):
                if depth + 1 >= max_depth:
                    yield path, None, depth + 1
                else:
                    pending.append((path, depth + 1))
            else:
                yield path, entry, depth


def read_folder(folder: Path, limits: Limits = DEFAULT, skip: frozenset[str] = frozenset(),
                max_bytes: int | None = None, max_files: int | None = None) -> Collected:
    """Plain files under ``folder`` as bytes, within ``limits``; paths in ``skip`` are not read at all."""
    max_bytes = limits.returned_bytes if max_bytes is None else max_bytes
    max_files = limits.returned_files if max_files is None else max_files
    collected = Collected()
    if not folder.is_dir():
        return collected
    deadline = time.monotonic() + limits.collect_seconds
    total = 0
    for seen, (relative, entry, _) in enumerate(_entries(folder, limits.folder_depth)):
        if relative in skip:
            continue
        if entry is None:
            collected.leave_out("too_deep", relative)
            continue
        if seen % 256 == 0 and time.monotonic() > deadline:
            collected.unread = True
            collected.leave_out("out_of_time", relative)
            break
        if len(collected.files) >= max_files:
            collected.unread = True
            collected.leave_out("too_many", relative)
            break
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            collected.leave_out("not_plain", relative)
        elif info.st_size > limits.returned_file_bytes:
            collected.leave_out("too_big", relative)
        elif total + info.st_size > max_bytes:
            collected.leave_out("over_total", relative)
        else:
            data = _read_plain(Path(entry.path), limits.returned_file_bytes)
            if data is not None:
                collected.files[relative] = data
                total += len(data)
    return collected


def trim_folder(folder: Path, limits: Limits = DEFAULT) -> Collected:
    """Delete what can never come back from a folder a kernel wrote, so nbgrader has room to write the notebook.

    The kernel shares its bounded disk with the job; a kernel that filled it would leave nbgrader no room
    for the graded notebook. Files over ``returned_file_bytes`` go first, then the largest until the rest
    fit in ``returned_bytes``. Returns what was deleted (as ``left_out``). Links are not followed.
    """
    trimmed = Collected()
    deadline = time.monotonic() + limits.collect_seconds
    sizes: list[tuple[int, str]] = []
    for seen, (relative, entry, _) in enumerate(_entries(folder, limits.folder_depth)):
        if entry is None or (seen % 256 == 0 and time.monotonic() > deadline):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            sizes.append((info.st_size, relative))
    total = sum(size for size, _ in sizes)
    for size, relative in sorted(sizes, reverse=True):
        if size <= limits.returned_file_bytes and total <= limits.returned_bytes:
            break
        kind = "too_big" if size > limits.returned_file_bytes else "over_total"
        try:
            (folder / relative).unlink()
        except OSError:
            continue
        trimmed.leave_out(kind, relative)
        total -= size
    return trimmed


def _read_plain(path: Path, limit: int) -> bytes | None:
    """A plain file's bytes, opened without following a link (the kernel may swap a file for one meanwhile)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read(limit + 1)[:limit]


def left_out_notes(collected: Collected, lang: str, limits: Limits = DEFAULT) -> list[str]:
    """One line per kind of file left out: how many, the first few names (control characters shown as escapes)."""
    from autograder.grader.sanitize import terminal_safe
    from autograder.learner.i18n import message

    notes = []
    for kind, left in collected.left_out.items():
        names = ", ".join(terminal_safe(name, one_line=True) for name in left.examples) \
            + (", …" if left.count > len(left.examples) else "")
        notes.append(message(f"not_kept_{kind}", lang, count=left.count, names=names,
                             files=limits.returned_files, size=limits.returned_file_bytes / 2**20,
                             total=limits.returned_bytes / 2**20, seconds=limits.collect_seconds,
                             depth=limits.folder_depth))
    return notes


def safe_parts(relative: str) -> tuple[str, ...]:
    """The parts of a relative path that stays inside its folder; ValueError for anything else."""
    path = Path(relative)
    if not relative or path.is_absolute() or ".." in path.parts or "\0" in relative:
        raise ValueError(f"unsafe file name {relative!r}")
    return path.parts


def write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Recreate ``folder`` from bytes; every name must stay inside it (no absolute paths, no ``..``)."""
    parts = {relative: safe_parts(relative) for relative in files}  # all checked before anything is removed
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for relative, data in files.items():
        target = folder.joinpath(*parts[relative])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
