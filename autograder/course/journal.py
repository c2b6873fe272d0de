"""The grading service's journal: every submission it has seen, and what became of it, on disk.

One JSON file in the course (``grading-service/journal.json``), rewritten atomically (a temporary file,
``fsync``, ``rename``) after every change, so a service killed at any moment restarts where it was: a
submission it was grading is graded again with the same seed — the same inputs for its hidden tests,
so the same score — and nothing it had received is lost.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.grader.payload import SubmissionKey

# received → ready (or queued, until the rate window allows; or refused) → grading → graded / not_gradable /
# failed; a queued submission replaced by a newer one of the same student is superseded.
STATES = ("received", "queued", "refused", "superseded", "ready", "grading", "graded", "not_gradable", "failed")
DONE = ("refused", "superseded", "graded", "not_gradable", "failed")


@dataclass
class Entry:
    """One submission in the exchange, by the name of its folder there."""

    folder: str
    student: str
    lesson: str
    time: str  # when it was submitted (ISO, UTC), as the file system vouches for it
    seed: int
    state: str = "received"
    arrived: str = ""  # when the service saw it (ISO, UTC)
    score: float | None = None
    reason: str = ""
    not_before: str = ""  # queued: graded from then on
    graded_at: str = ""
    order: int = 0  # 1, 2, …: when it was handed to the cluster, among all submissions (0: not yet)
    kept: bool = False  # its grade is the one in the gradebook (the last, or the best)

    @property
    def key(self) -> SubmissionKey:
        return SubmissionKey(self.student, self.lesson)

    @property
    def submitted(self) -> datetime.datetime:
        return datetime.datetime.fromisoformat(self.time)


@dataclass
class Journal:
    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> Journal:
        journal = cls(path)
        if path.is_file():
            for name, values in json.loads(path.read_text(encoding="utf-8")).items():
                journal.entries[name] = Entry(**values)
        return journal

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        with open(partial, "w", encoding="utf-8") as file:
            json.dump({name: asdict(entry) for name, entry in self.entries.items()}, file, indent=1)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)

    def in_state(self, *states: str) -> list[Entry]:
        """Entries in one of ``states``, oldest submission first."""
        return sorted((entry for entry in self.entries.values() if entry.state in states),
                      key=lambda entry: (entry.time, entry.folder))

    def of(self, key: SubmissionKey) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.key == key]
