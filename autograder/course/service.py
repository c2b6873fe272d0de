"""``python -m autograder serve COURSE``: grade every submission as it arrives and hand its feedback back at once.

The service watches the course's ``inbound/`` folder in the exchange (where nbgrader's *Submit* puts
a submission) and, for each new submission:

1. checks it as ``nbgrader collect`` does here (``autograder.course.exchange``: its owner is the
   student, its time is the file system's) and copies it, bounded, into its own folder;
2. applies the lesson's policy (``autograder.course.policy``): graded now, queued until the rate window
   allows, or refused — the student is told which, in the course's language;
3. grades it on the course's Dask cluster with exactly the task ``grade`` uses (a ``GradingSession``),
   the same seed on every attempt (a restart regrades a submission to the same score); one seed for
   the service's course folder, as ``grade`` has one per run, so the workers, warmed at start, build the
   reference's hidden-test outputs once instead of once per submission;
4. writes its outcome into the course (``CourseWriter``: the gradebook's one writer, holding the
   gradebook's lock, so a manual ``grade`` and the service never write at the same time), keeps it as the
   student's submission when it is the one that counts (the last, or the best), and puts its feedback page
   where nbgrader's *Fetch Feedback* finds it (the page's name in the exchange comes from the submission's
   own secret, as ``nbgrader release_feedback`` names it).

Everything it knows is in its journal (``autograder.course.journal``); its state for the instructor is
in ``grading-service/status.json`` (``python -m autograder status COURSE``), and the class report and
``grades.csv`` are rewritten whenever the queue is empty (every 2 minutes while it is not).
"""

from __future__ import annotations

import contextlib
import datetime
import html
import json
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections import deque
from pathlib import Path

from distributed import Future, wait

from autograder.course import say
from autograder.course.create import nbgrader
from autograder.course.exchange import TIMESTAMP_FORMAT, examine
from autograder.course.grade import CourseWriter, GradingSession, outcome_of, write_notes
from autograder.course.gradebook import GradebookBusy, GradebookWriter, writing_lock
from autograder.course.journal import Entry, Journal
from autograder.course.outputs import write_outputs
from autograder.course.policy import policies
from autograder.grader.folders import read_folder, write_folder
from autograder.grader.limits import Limits
from autograder.grader.payload import Outcome
from autograder.grader.sanitize import terminal_safe
from autograder.learner.i18n import format_number, message

SERVICE_DIR = "grading-service"
# The report and grades.csv while the queue is not empty: a refresh costs ~2 s of a core (nbgrader's export
# is a process of its own), taken from the grading during a burst.
REFRESH_SECONDS = 120.0
# nbgrader's submit copies the files, then writes timestamp.txt and submission_secret.txt, then changes the
# folder's mode: a folder is complete once that last file is there and nothing changed for a moment. Read
# earlier, a notebook could be half copied. Without the secret (a folder made by hand), wait longer.
QUIET_SECONDS = 2.0
QUIET_WITHOUT_SECRET_SECONDS = 30.0


def complete(folder: Path, last_change: datetime.datetime, now: datetime.datetime) -> bool:
    """Whether nbgrader has finished writing a submission folder (see QUIET_SECONDS)."""
    quiet = (now - last_change).total_seconds()
    return quiet >= (QUIET_SECONDS if (folder / "submission_secret.txt").is_file() else QUIET_WITHOUT_SECRET_SECONDS)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="seconds")


class Service:
    """One course's grading service (see the module's docstring)."""

    def __init__(self, root: Path, course: dict, session: GradingSession, limits: Limits) -> None:
        self.root, self.course, self.session, self.limits = root, course, session, limits
        self.lang = course["language"]
        self.policies = policies(course)
        self.folder = root / SERVICE_DIR
        self.journal = Journal.open(self.folder / "journal.json")
        self.exchange = Path(course["exchange"]) / course["course_id"] if course["exchange"] else None
        self.futures: dict[Future, str] = {}
        self.finished: list[tuple[str, Outcome]] = []  # outcomes waiting for the gradebook
        self.events: deque[str] = deque(maxlen=20)
        self.dirty = False
        self.refreshed = time.monotonic()
        self.seed = service_seed(self.folder)

    # --- the loop ----------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event, poll: float = 2.0) -> None:
        self.session.kernels_ahead = True  # a student waits for each grade: the next kernel is always ready
        self.session.warm(self.course["lessons"], self.seed)
        self.recover()
        while not stop.is_set():
            self.step(utcnow())
            self.wait(stop, poll)

    def wait(self, stop: threading.Event, poll: float) -> None:
        """Until the next round: ``poll`` seconds, or less when a submission being graded finishes first."""
        if not self.futures:
            stop.wait(poll)
            return
        with contextlib.suppress(TimeoutError):  # a finished task starts the next one at once, not after a poll
            wait(list(self.futures), timeout=poll, return_when="FIRST_COMPLETED")

    def step(self, now: datetime.datetime) -> None:
        """One round: new submissions, decisions, grading, results, the instructor's status."""
        self.scan(now)
        self.plan(now)
        self.collect(now)  # before dispatching: a finished task's worker takes the next one now, not a poll later
        self.dispatch()
        self.refresh_outputs()
        self.write_status(now)

    def recover(self) -> None:
        """After a restart: what was being graded is graded again (same seed, same score)."""
        for entry in self.journal.in_state("grading"):
            entry.state = "ready"
            self.say("recovered", entry)
        self.journal.save()

    # --- arrivals ----------------------------------------------------------------------------------------------

    def scan(self, now: datetime.datetime) -> None:
        """Record every new submission folder in ``inbound/``, copied into the service's own folder."""
        if self.exchange is None or not (self.exchange / "inbound").is_dir():
            return
        for lesson in self.course["lessons"]:
            for path in sorted((self.exchange / "inbound").glob(f"*+{lesson}+*")):
                if path.name in self.journal.entries:
                    continue
                seen = examine(path)
                if not seen.problem and not complete(path, seen.time, now):
                    continue  # still being written: looked at again on the next poll
                entry = Entry(path.name, seen.student, lesson, iso(seen.time), self.seed, arrived=iso(now))
                if seen.problem:  # not this student's (or not a folder): nobody is told, the instructor is
                    entry.state, entry.reason = "refused", seen.problem
                    self.say("rejected", entry, reason=seen.problem)
                else:
                    self._stage(path, entry)
                    self.say("received", entry)
                self.journal.entries[path.name] = entry
                self.journal.save()

    def _stage(self, path: Path, entry: Entry) -> None:
        """The submission's plain files, bounded, with the time the file system vouches for."""
        collected = read_folder(path, self.limits, max_bytes=self.limits.submission_bytes,
                                max_files=self.limits.submission_files)
        collected.files["timestamp.txt"] = entry.submitted.strftime(TIMESTAMP_FORMAT).encode()
        write_folder(self.folder / "received" / entry.folder, collected.files)

    # --- decisions ---------------------------------------------------------------------------------------------

    def plan(self, now: datetime.datetime) -> None:
        """Grade now, queue or refuse each waiting submission, by its lesson's policy."""
        for entry in self.journal.in_state("received", "queued"):
            policy = self.policies[entry.lesson]
            newer = [other for other in self.journal.of(entry.key)
                     if other.state in ("received", "queued") and other.time > entry.time]
            if entry.state == "queued" and newer:  # a newer submission replaces a waiting one
                entry.state = "superseded"
                continue
            counted = [other.submitted for other in self.journal.of(entry.key)
                       if other.state in ("ready", "grading", "graded")]
            after = policy.next_allowed(counted, now)
            if after is None:
                entry.state = "ready"
            elif policy.extra == "queue":
                if entry.state != "queued":
                    entry.state, entry.not_before = "queued", iso(after)
                    self.notice(entry, "queued", when=after, policy=policy)
            else:
                entry.state, entry.reason = "refused", "rate limit"
                self.notice(entry, "refused", when=after, policy=policy)
        self.journal.save()

    def capacity(self) -> int:
        """How many submissions the cluster grades at once (its workers' threads, at least 1)."""
        return max(1, sum(self.session.client.nthreads().values()))

    def dispatch(self) -> None:
        """Hand the oldest ready submissions to the cluster, as many as it grades at once.

        The rest wait in the journal, not in Dask's queue: they are graded strictly oldest first, the status
        tells waiting from being graded, and a restart has fewer to regrade.
        """
        free = self.capacity() - len(self.futures)
        if free <= 0:
            return
        due = self._due_dates()
        handed = max((entry.order for entry in self.journal.entries.values()), default=0)
        for order, entry in enumerate(self.journal.in_state("ready")[:free]):
            detail = self.policies[entry.lesson].feedback(due.get(entry.lesson), utcnow())
            future = self.session.submit(entry.key, self.folder / "received" / entry.folder, entry.seed,
                                         feedback=detail)
            self.futures[future] = entry.folder
            entry.state, entry.order = "grading", handed + order + 1
            self.say("grading", entry)
        self.journal.save()

    def _due_dates(self) -> dict[str, datetime.datetime]:
        connection = sqlite3.connect(f"file:{self.root / 'gradebook.db'}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT name, duedate FROM assignment").fetchall()
        finally:
            connection.close()
        return {name: datetime.datetime.fromisoformat(due) for name, due in rows if due}

    # --- results -----------------------------------------------------------------------------------------------

    def collect(self, now: datetime.datetime) -> None:
        for future in [future for future in self.futures if future.done()]:
            folder = self.futures.pop(future)
            self.finished.append((folder, outcome_of(future, self.journal.entries[folder].key)))
            future.release()
        if not self.finished:
            return
        try:
            with writing_lock(self.root, wait=False), GradebookWriter(self.root / "gradebook.db") as writer:
                course_writer = CourseWriter(self.root, writer)
                for folder, outcome in self.finished:
                    self.record(self.journal.entries[folder], outcome, course_writer, now)
                self.finished.clear()
        except GradebookBusy:
            pass  # a manual `grade` is writing: the outcomes wait for the next round

    def record(self, entry: Entry, outcome: Outcome, writer: CourseWriter, now: datetime.datetime) -> None:
        """One outcome into the course (when it counts), its feedback to the student, its state to the journal."""
        entry.graded_at = iso(now)
        entry.state = outcome.status
        entry.reason = outcome.reason
        entry.score = outcome.grades.score if outcome.grades else 0.0
        if self._counts(entry):
            for other in self.journal.of(entry.key):
                other.kept = False
            entry.kept = True
            write_folder(self.root / "submitted" / entry.student / entry.lesson,
                         read_folder(self.folder / "received" / entry.folder, self.limits).files)
            writer.record(outcome)
            write_notes(self.root, {entry.key: outcome})  # the report's notes follow the submission that counts
            self.dirty = True
        page = outcome.feedback.get(f"{entry.lesson}.html")
        if page and outcome.status == "graded":
            self.publish(entry, page)
        else:
            self.notice(entry, "not_graded", reason=outcome.reason)
        self.journal.save()
        self.say("graded" if outcome.status == "graded" else "not_graded_event", entry,
                 score=format_number(entry.score or 0, self.lang, 2), reason=outcome.reason)

    def _counts(self, entry: Entry) -> bool:
        """Whether ``entry``'s grade is the one the gradebook should hold (the last graded, or the best)."""
        graded = [other for other in self.journal.of(entry.key) if other.state in ("graded", "not_gradable", "failed")]
        if self.policies[entry.lesson].final == "best":
            return all((entry.score or 0) >= (other.score or 0) for other in graded if other is not entry)
        return all(entry.time >= other.time for other in graded if other is not entry)

    # --- what the student sees ---------------------------------------------------------------------------------

    def _page_path(self, entry: Entry) -> Path | None:
        """Where nbgrader's Fetch Feedback looks for this submission's page (named by its secret)."""
        from nbgrader.utils import notebook_hash

        secret_file = self.folder / "received" / entry.folder / "submission_secret.txt"
        if self.exchange is None or not secret_file.is_file():
            return None
        secret = secret_file.read_text(encoding="utf-8")
        return self.exchange / "feedback" / f"{notebook_hash(secret=secret, notebook_id=entry.lesson)}.html"

    def publish(self, entry: Entry, page: bytes) -> None:
        """Hand the student this submission's page: written aside, then renamed into place (never half a page)."""
        target = self._page_path(entry)
        if target is None:
            return
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        partial.write_bytes(page)
        os.chmod(partial, 0o644)  # the student reads it by its name; the folder lists nothing
        os.replace(partial, target)

    def notice(self, entry: Entry, kind: str, **fields: object) -> None:
        """A feedback page that says why there is no grade yet, in the course's language."""
        values = {"lesson": entry.lesson, "time": entry.submitted.strftime("%Y-%m-%d %H:%M UTC")} | fields
        if "when" in values:
            values["when"] = values["when"].strftime("%Y-%m-%d %H:%M UTC")
        if "policy" in values:
            policy = values.pop("policy")
            values |= {"count": policy.submissions, "minutes": policy.window_minutes}
        title = message(f"service.{kind}.title", self.lang)
        text = message(f"service.{kind}", self.lang, **values)
        body = (f'<!DOCTYPE html>\n<html lang="{self.lang}"><head><meta charset="utf-8"><title>{html.escape(title)}'
                f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>\n")
        self.publish(entry, body.encode("utf-8"))

    # --- what the instructor sees ------------------------------------------------------------------------------

    def say(self, event: str, entry: Entry, **fields: object) -> None:
        line = terminal_safe(say(f"service.{event}", submission=entry.key, time=entry.time, **fields), one_line=True)
        self.events.append(f"{iso(utcnow())} {line}")
        print(line, file=sys.stderr, flush=True)

    def refresh_outputs(self) -> None:
        """The report, the LMS files and grades.csv, when something changed and the queue is empty (or 2 min on)."""
        busy = bool(self.futures or self.finished)
        if not self.dirty or (busy and time.monotonic() - self.refreshed < REFRESH_SECONDS):
            return
        try:
            with writing_lock(self.root, wait=False):
                nbgrader(self.root, "export", "--to", str(self.root / "grades.csv"))
                write_outputs(self.root, self.course, self.session.sandbox)
        except GradebookBusy:
            return
        self.dirty, self.refreshed = False, time.monotonic()

    def status(self, now: datetime.datetime) -> dict:
        waiting = self.journal.in_state("received", "queued", "ready")
        grading = self.journal.in_state("grading")
        graded = self.journal.in_state("graded")
        oldest = min((datetime.datetime.fromisoformat(entry.arrived) for entry in waiting + grading), default=None)
        last = max(graded, key=lambda entry: entry.graded_at, default=None)
        return {
            "updated": iso(now), "pid": os.getpid(), "waiting": len(waiting), "grading": len(grading),
            "oldest_wait_seconds": round((now - oldest).total_seconds()) if oldest else 0,
            "graded": len(graded),
            "last_graded": {"submission": str(last.key), "score": last.score, "at": last.graded_at} if last else None,
            "not_graded": [{"submission": str(entry.key), "state": entry.state, "reason": entry.reason}
                           for entry in self.journal.in_state("not_gradable", "failed")][-10:],
            "events": list(self.events),
        }

    def write_status(self, now: datetime.datetime) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / "status.partial"
        partial.write_text(json.dumps(self.status(now), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, self.folder / "status.json")


def service_seed(folder: Path) -> int:
    """The hidden tests' seed of this course's service: made once, kept in its folder (only the grader reads it)."""
    path = folder / "seed"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(str(secrets.randbelow(2**31)))
    return int(path.read_text(encoding="ascii").strip())


def status_lines(root: Path, lang: str) -> list[str]:
    """``python -m autograder status COURSE``: the service's last status, for a person."""
    path = root / SERVICE_DIR / "status.json"
    if not path.is_file():
        return [say("service.no_status", root=root)]
    state = json.loads(path.read_text(encoding="utf-8"))
    lines = [say("service.status", updated=state["updated"], waiting=state["waiting"], grading=state["grading"],
                 oldest=state["oldest_wait_seconds"], graded=state["graded"])]
    if state["last_graded"]:
        last = state["last_graded"]
        lines.append(say("service.last", submission=last["submission"], at=last["at"],
                         score=format_number(last["score"] or 0, lang, 2)))
    lines += [say("service.problem", submission=item["submission"], reason=item["reason"] or item["state"])
              for item in state["not_graded"]]
    return [terminal_safe(line, one_line=True) for line in lines] + state["events"][-5:]

