"""The course on a real JupyterHub: real Unix users, nbgrader's exchange loop in a real browser, late work, LMS grades.

Deployed as the README's "Running the course on JupyterHub" describes (``support`` builds it):

* the hub's **shared environment** (``support.shared_env``): Debian's Python, a venv with the
  project's wheel (no ``solutions/``) and ``jupyterhub``; nbgrader's student extensions only;
* real **users** (``useradd``, passwords, homes ``chmod 700``): an instructor and two students,
  ``alice`` (solves ``residual_networks``) and ``bob`` (leaves ``convolutional_block`` as the stub);
* the **instructor**'s private checkout and environment layered on the shared one; they build the
  Russian course with a late penalty, release, collect, grade (``python -m autograder grade
  --jobs 2``) and release the feedback — all as their own uid;
* the **exchange**, a 1777 folder that already holds another course; the students' nbgrader
  config in the shared environment's ``etc/jupyter`` (the hub's ``/etc/jupyter``);
* **JupyterHub** on 127.0.0.1 (PAM logins, LocalProcessSpawner, configurable-http-proxy).

Each student logs in on the hub's form in headless Chromium, opens *Nbgrader → Assignment List*,
fetches the lesson, (the test writes their answers into the fetched notebook as their uid),
validates in a terminal, submits from the panel; after grading, fetches the feedback from the
panel and reads the score in JupyterLab's HTML viewer. The due date passes, alice submits again,
``collect --update``, grading again zeroes her late work everywhere. The instructor logs in and
sees the submissions in formgrader. Screenshots: ``<tmp>/hub*/screenshots``. The tests read what
the loop left. Needs root (users, setuid, the hub); skipped otherwise.

The same loop attacks the hub as its students could (issue 15): two more students work in a terminal
only — ``aaron`` hands in a fork bomb, graded by the unprivileged instructor beside alice; ``carol``
submits late, dates her submission a day back and hands in the untouched notebook in alice's name.
While the instructor's first ``grade`` runs, bob tries every port the instructor's processes open
(Dask over TCP, TLS without the run's certificate, HTTP). And the students try to read the reference,
run ``solve``, read the gradebook, grades and classmates' work, and write into ``submitted/``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import html
import json
import re
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from support.attacks import FORK_BOMB_HELPER
from support.course import answered, visible_text

from autograder.course.create import default_course_id
from autograder.grader.feedback import HideHiddenTests

LESSON = "residual_networks"
MAX = 18
STUDENTS = ("alice", "bob")
BOB_SCORE = 7  # everything but convolutional_block (2 × 2 + 1) and ResNet-50 (6), built from it
# nbgrader's own words in its feedback template; none may reach a Russian course's feedback.
ENGLISH = ("Score", "Test cell", "Coding free-response", "Written response", "Comment", "No response",
           "Late submission penalty", "(Top)", "Student's answer", "Student's task", "Grade cell", "In\xa0[", "Out[",
           "Output truncated")
INSTRUCTOR_COMMANDS = {"nbgrader:open-formgrader", "nbgrader:open-course-list"}
# Students who work in a terminal only: ``aaron`` hands in a fork bomb (sorted first, he is graded beside
# alice), ``carol`` submits late and forges the exchange (a submission in alice's name, an earlier time).
TERMINAL_STUDENTS = ("aaron", "carol")

# Run as bob while the instructor's `grade` runs: every TCP port the instructor's processes open is tried
# as a Dask client would (plain TCP, TLS without a certificate) and over HTTP. Prints what each port did.
PORT_PROBE = r"""
import asyncio, json, os, ssl, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
from distributed.comm import connect

teacher, stop = int(sys.argv[1]), sys.argv[2]

def listening():
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            field = row.split()
            if field[3] == "0A" and int(field[7]) == teacher:  # LISTEN, owned by the instructor
                ports.add(int(field[1].rsplit(":", 1)[1], 16))
    return ports

async def dask(address, **args):
    try:
        comm = await connect(address, timeout=5, **args)
        await comm.write({"op": "identity", "reply": True})
        answer = await asyncio.wait_for(comm.read(), 5)
        return f"ANSWERED {str(answer)[:80]}"
    except BaseException as error:
        return f"refused: {type(error).__name__}: {str(error)[:120]}"

def http(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/identity.json", timeout=5) as page:
            return f"ANSWERED {page.status}"
    except BaseException as error:
        return f"refused: {type(error).__name__}: {str(error)[:120]}"

def attempt(port):
    return {"tcp": asyncio.run(dask(f"tcp://127.0.0.1:{port}")),
            "tls": asyncio.run(dask(f"tls://127.0.0.1:{port}", ssl_context=context)),
            "http": http(port)}

context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
# Each port is tried the moment it appears, in a thread of its own, while the list keeps being read.
before, attempts, pool = listening(), {}, ThreadPoolExecutor(32)
deadline = time.monotonic() + 1800
while time.monotonic() < deadline and not os.path.exists(stop):
    for port in sorted(listening() - before - attempts.keys()):
        attempts[port] = pool.submit(attempt, port)
    time.sleep(0.05)
print(json.dumps({"before": sorted(before), "tried": {port: job.result() for port, job in attempts.items()}}))
"""

# Forked from a small helper (not the 1.5 GiB kernel), children sleep 30 s: the process limit stops it.
FORK_BOMB = ("import shutil, subprocess, sys\n"
             f"bomb = {FORK_BOMB_HELPER!r}\n"
             "print(subprocess.run([sys.executable, '-c', bomb, shutil.which('sleep'), 'bomb'], capture_output=True, "
             "text=True).stdout)\n")


def _with_fork_bomb(solved: str) -> str:
    """A solved notebook whose first code cell is followed by a fork bomb."""
    notebook = nbformat.reads(solved, as_version=4)
    first = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    notebook.cells.insert(first + 1, nbformat.v4.new_code_cell(FORK_BOMB))
    return nbformat.writes(notebook)


@dataclass
class Loop:
    """What the hub loop left for the tests to read."""

    tmp: Path  # root-only: screenshots, browser profiles
    shots: Path
    hub: object  # support.jupyterhub.Hub
    teacher: object  # support.shared_env.InstructorEnv
    students: dict  # role → support.unix_users.User
    course: Path
    exchange: Path
    shared: object  # support.shared_env.SharedEnv
    seconds: dict[str, float] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)  # the instructor's console output per step
    menus: dict[str, list[str]] = field(default_factory=dict)  # the Nbgrader menu each user sees
    formgrader_status: dict[str, int] = field(default_factory=dict)  # GET /user/<name>/formgrader/ from their page
    panel_text: dict[str, str] = field(default_factory=dict)  # the Assignments panel after fetching the feedback
    viewer_text: dict[str, str] = field(default_factory=dict)  # the feedback in JupyterLab's HTML viewer
    servers: dict[str, list[str]] = field(default_factory=dict)  # each user's processes (command lines)
    validate: dict[str, str] = field(default_factory=dict)
    table: list[str] = field(default_factory=list)  # the console output of each `grade`
    grades: list[dict[str, dict[str, str]]] = field(default_factory=list)  # grades.csv after each `grade`
    reports: list[str] = field(default_factory=list)
    fetched: dict[str, list[Path]] = field(default_factory=dict)  # feedback HTML each student fetched
    feedback_round1: dict[str, str] = field(default_factory=dict)
    late_exports: dict[str, Path] = field(default_factory=dict)
    terminal: dict = field(default_factory=dict)  # role → support.unix_users.User: aaron and carol
    ports: dict = field(default_factory=dict)  # what PORT_PROBE found during the first `grade`
    forged: dict[str, str] = field(default_factory=dict)  # what carol did in the exchange
    due: str = ""

    def name(self, role: str) -> str:
        return self.students[role].name


def _grades_csv(course: Path) -> dict[str, dict[str, str]]:
    with open(course / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student_id"]: row for row in csv.DictReader(file) if row["assignment"] == LESSON}


def _nbgrader(loop: Loop, *args: str) -> subprocess.CompletedProcess[str]:
    """A real nbgrader command as the instructor types it in the course folder (their environment's Python)."""
    run = loop.teacher.python_m("nbgrader", *args, cwd=loop.course)
    loop.commands[f"nbgrader {' '.join(args)}"] = run.stdout + run.stderr
    return run


def _grade(loop: Loop, label: str) -> None:
    start = time.perf_counter()
    run = loop.teacher.python_m("autograder", "grade", loop.course, "--jobs", "2", "--quiet", timeout=1800)
    loop.seconds[label] = round(time.perf_counter() - start, 1)
    loop.table.append(run.stdout)
    loop.commands[label] = run.stdout + run.stderr
    loop.grades.append(_grades_csv(loop.course))
    loop.reports.append((loop.course / "report.md").read_text(encoding="utf-8"))


# The HTTP status of a page of the user's server, asked from their logged-in page (their cookies).
STATUS = ("const done = arguments[arguments.length - 1];"
          "fetch(arguments[0], {credentials: 'same-origin'}).then(r => done(r.status), e => done(-1));")


@contextlib.contextmanager
def _logged_in(loop: Loop, user) -> Iterator[object]:
    """Headless Chromium of its own for ``user``, logged in on the hub's form, in their JupyterLab."""
    from support.browser import chromium, hub_login

    with chromium(loop.tmp / f"chromium-{user.name}-{time.monotonic_ns()}") as driver:
        hub_login(driver, loop.hub, user)
        yield driver


@pytest.fixture(scope="module")
def loop(shared_env, unix_users, shared_dir, start_hub, tmp_path_factory) -> Iterator[Loop]:
    from support import browser
    from support.shared_env import enable_instructor_extensions, instructor_env
    from support.unix_users import popen_as, processes_of, run_as, write_as

    started = time.perf_counter()
    tmp = tmp_path_factory.mktemp("hub")
    teacher_user = unix_users.add("teacher")
    students = {role: unix_users.add(role) for role in STUDENTS}
    terminal = {role: unix_users.add(role) for role in TERMINAL_STUDENTS}
    # The administrator: an exchange every user can write to (sticky), here already used by another course.
    exchange = shared_dir / "exchange"
    exchange.mkdir(mode=0o755)
    exchange.chmod(0o1777)
    (exchange / "another-course" / "outbound").mkdir(parents=True)

    # The instructor: a private checkout and environment, the course, formgrader for them only, the release.
    teacher = instructor_env(teacher_user, shared_env)
    loop = Loop(tmp, tmp / "screenshots", None, teacher, students, teacher_user.home / "resnet-ru", exchange,
                shared_env, terminal=terminal)
    loop.seconds["users and the instructor's environment"] = round(time.perf_counter() - started, 1)
    run = teacher.python_m("autograder", "course", loop.course, "--lang", "ru", "--exchange", exchange,
                           "--late-penalty", "zero", cwd=teacher_user.home)
    loop.commands["course"] = run.stdout + run.stderr
    teacher.run("mkdir", "-p", teacher_user.home / ".jupyter")
    write_as(teacher_user, teacher_user.home / ".jupyter" / "nbgrader_config.py",
             f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(loop.course)!r}\n")
    enable_instructor_extensions(teacher)
    _nbgrader(loop, "release_assignment", LESSON)

    # The administrator puts the students' config where every user of the shared environment reads it.
    with shared_env.student_config(loop.course / "for_students" / "nbgrader_config.py"):
        loop.hub = hub = start_hub([teacher_user, *students.values()])
        loop.seconds["until the hub runs"] = round(time.perf_counter() - started, 1)

        # Each student: log in, Assignments panel, Fetch; their answers go into the fetched notebook.
        with contextlib.ExitStack() as browsers:
            drivers = {}
            for role, user in students.items():
                drivers[role] = driver = browsers.enter_context(_logged_in(loop, user))
                browser.shot(driver, loop.shots, f"01-{role}-lab")
                loop.menus[role] = browser.menu_commands(driver, "Nbgrader")
                loop.formgrader_status[role] = driver.execute_async_script(STATUS,
                                                                           hub.user_url(user.name, "formgrader/"))
                browser.open_assignments(driver)
                browser.shot(driver, loop.shots, f"02-{role}-released")
                browser.fetch(driver, LESSON)
                browser.shot(driver, loop.shots, f"03-{role}-fetched")
                notebook = user.home / LESSON / f"{LESSON}.ipynb"
                write_as(user, notebook, answered(notebook, LESSON, "convolutional_block" if role == "bob" else None))
            loop.seconds["fetched"] = round(time.perf_counter() - started, 1)

            # They validate in a terminal (nbgrader of the shared environment, the hub's config), at the same time.
            validating = {role: popen_as(user, [shared_env.bin / "nbgrader", "validate", f"{LESSON}/{LESSON}.ipynb"],
                                         env=user.env(shared_env.path()), stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True) for role, user in students.items()}
            for role, process in validating.items():
                loop.validate[role] = process.communicate(timeout=900)[0]

            # And submit from the panel.
            for role, user in students.items():
                browser.refresh_assignments(drivers[role])
                browser.submit(drivers[role], LESSON)
                browser.shot(drivers[role], loop.shots, f"04-{role}-submitted")
                loop.servers[role] = [_cmdline(pid) for pid in processes_of(user.uid)]
        # aaron, in a terminal: fetch, his answers and a fork bomb, submit.
        aaron = terminal["aaron"]
        _terminal_nbgrader(loop, aaron, "fetch_assignment", LESSON)
        notebook = aaron.home / LESSON / f"{LESSON}.ipynb"
        write_as(aaron, notebook, _with_fork_bomb(answered(notebook, LESSON, None)))
        _terminal_nbgrader(loop, aaron, "submit", LESSON)
        loop.seconds["submitted"] = round(time.perf_counter() - started, 1)

        # The instructor collects, grades and returns the feedback; bob tries every port `grade` opens.
        _nbgrader(loop, "collect", LESSON)
        stop = shared_dir / "probe-stop"
        bob = students["bob"]
        probe = popen_as(bob, [shared_env.python, "-c", PORT_PROBE, str(teacher_user.uid), stop],
                         env=bob.env(shared_env.path()), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _grade(loop, "grade, 3 submissions")
        finally:
            stop.touch()
            out, err = probe.communicate(timeout=300)
        loop.ports = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err[-3000:]}
        feedback = {role: loop.course / "feedback" / user.name / LESSON / f"{LESSON}.html"
                    for role, user in students.items()}
        assert all(path.is_file() for path in feedback.values()), \
            f"no feedback:\n{loop.commands['grade, 3 submissions']}"
        loop.feedback_round1 = {role: path.read_text(encoding="utf-8") for role, path in feedback.items()}
        _nbgrader(loop, "release_feedback", LESSON)

        # Each student fetches theirs from the panel and reads it in JupyterLab.
        for role, user in students.items():
            with _logged_in(loop, user) as driver:
                browser.open_assignments(driver)
                browser.fetch_feedback(driver, LESSON)
                loop.panel_text[role] = driver.find_element("css selector", browser.ASSIGNMENTS).text
                browser.shot(driver, loop.shots, f"05-{role}-feedback-fetched")
                loop.fetched[role] = sorted((user.home / LESSON / "feedback").glob(f"*/{LESSON}.html"))
                if loop.fetched[role]:
                    browser.open_in_lab(driver, hub, user, str(loop.fetched[role][-1].relative_to(user.home)))
                    loop.viewer_text[role] = browser.html_viewer_text(driver)
                    browser.shot(driver, loop.shots, f"06-{role}-feedback")
        loop.seconds["feedback fetched"] = round(time.perf_counter() - started, 1)

        # The due date passes; alice submits again (in a terminal), late; the instructor collects the update.
        carol = terminal["carol"]
        _terminal_nbgrader(loop, carol, "fetch_assignment", LESSON)
        notebook = carol.home / LESSON / f"{LESSON}.ipynb"
        released = notebook.read_text(encoding="utf-8")
        write_as(carol, notebook, answered(notebook, LESSON, None))
        loop.due = due = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        _nbgrader(loop, "db", "assignment", "add", LESSON, f"--duedate={due}")
        time.sleep(1.5)
        alice = students["alice"]
        run_as(alice, [shared_env.bin / "nbgrader", "submit", LESSON], env=alice.env(shared_env.path()))
        # carol submits late, then dates it a day back (nbgrader #1104) and submits in alice's name (#1097).
        submitted = _terminal_nbgrader(loop, carol, "submit", LESSON)
        loop.forged = _forge(loop, carol, alice, released, submitted)
        _nbgrader(loop, "collect", "--update", LESSON)
        _grade(loop, "grade again")

        # For the LMS: alice's name has a comma; nbgrader's export command with our plugins.
        _nbgrader(loop, "db", "student", "add", alice.name, "--first-name=Alice", "--last-name=Smith, Jr.",
                  "--email=alice@example.org", "--lms-user-id=1042")
        for lms in ("Moodle", "Canvas"):
            loop.late_exports[lms] = loop.course / f"export-{lms.lower()}.csv"
            _nbgrader(loop, "export", f"--exporter=autograder.course.lms.{lms}ExportPlugin",
                      f"--to={loop.late_exports[lms]}")
        loop.seconds["whole loop"] = round(time.perf_counter() - started, 1)
        print(f"\nhub loop timings (s): {loop.seconds}\nscreenshots: {loop.shots}")
        yield loop


def _terminal_nbgrader(loop: Loop, user, *args: str) -> str:
    """``nbgrader …`` typed by a student in a terminal of the hub (the shared environment, the hub's config)."""
    from support.unix_users import run_as

    run = run_as(user, [loop.shared.bin / "nbgrader", *args], env=user.env(loop.shared.path()))
    return run.stdout + run.stderr


# carol's terminal: her late submission dated a day back (its timestamp.txt, its folder's name and its
# files' times), then a folder in alice's name holding the untouched notebook, dated after alice's.
FORGE = r"""
set -eu
inbound="$1"; me="$2"; victim="$3"; lesson="$4"; released="$5"; mine="$6"
early=$(date -u -d '1 day ago' '+%Y-%m-%d %H:%M:%S.%6N UTC')
printf '%s' "$early" > "$mine/timestamp.txt"
touch -d '1 day ago' "$mine"/* "$mine"
mv "$mine" "$inbound/$me+$lesson+$early+0000"
later=$(date -u -d '1 minute' '+%Y-%m-%d %H:%M:%S.%6N UTC')
forged="$inbound/$victim+$lesson+$later+1111"
mkdir "$forged"
cp "$released" "$forged/$lesson.ipynb"
printf '%s' "$later" > "$forged/timestamp.txt"
echo forged
"""


def _forge(loop: Loop, carol, alice, released: str, submitted: str) -> dict[str, str]:
    """carol rewrites her late submission's time and hands in a submission as alice, in the exchange.

    She cannot list ``inbound/``; ``nbgrader submit`` told her where her submission went.
    """
    from support.unix_users import run_as, write_as

    destination = re.search(r"Destination: (\S.*?)\s*$", submitted, re.M)
    assert destination, submitted[-2000:]

    course_id = json.loads((loop.course / "course.json").read_text(encoding="utf-8"))["course_id"]
    copy = carol.home / "released.ipynb"
    write_as(carol, copy, released)
    run = run_as(carol, ["/bin/bash", "-c", FORGE, "forge", loop.exchange / course_id / "inbound", carol.name,
                         alice.name, LESSON, copy, destination[1]], check=False)
    return {"output": run.stdout + run.stderr, "returncode": str(run.returncode)}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture(scope="module")
def teacher_browser(loop: Loop) -> Iterator[object]:
    """The instructor, logged in on the hub in their own Chromium."""
    with _logged_in(loop, loop.teacher.user) as driver:
        yield driver


def test_the_course_names_its_id_exchange_and_late_policy(loop: Loop) -> None:
    course = json.loads((loop.course / "course.json").read_text(encoding="utf-8"))
    assert course["course_id"] == default_course_id(loop.course) and course["course_id"].startswith("resnet-ru-")
    assert course["exchange"] == str(loop.exchange) and course["late_penalty"] == "zero"
    config = (loop.course / "nbgrader_config.py").read_text(encoding="utf-8")
    assert f"c.CourseDirectory.course_id = {course['course_id']!r}" in config
    assert f"c.Exchange.root = {str(loop.exchange)!r}" in config
    assert "c.LateSubmissionPlugin.penalty_method = 'zero'" in config
    students = (loop.course / "for_students" / "nbgrader_config.py").read_text(encoding="utf-8")
    assert f"c.CourseDirectory.course_id = {course['course_id']!r}" in students and str(loop.exchange) in students
    # The exchange is shared: the other course is still there beside this one.
    assert sorted(p.name for p in loop.exchange.iterdir()) == sorted(["another-course", course["course_id"]])
    # The course is the instructor's alone (no --group), inside a home nobody else can enter.
    assert stat.S_IMODE(loop.course.stat().st_mode) == 0o700
    assert loop.course.stat().st_uid == loop.teacher.user.uid
    assert stat.S_IMODE(loop.teacher.user.home.stat().st_mode) == 0o700


def test_the_course_config_was_used_to_build_the_release(loop: Loop) -> None:
    """nbgrader ignores a config file that fails to import; then it would clear the stubs ("YOUR CODE HERE")."""
    assert "Exception while loading config file" not in loop.commands["course"], loop.commands["course"][-3000:]
    released = nbformat.read(loop.course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    answers = [cell.source for cell in released.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    assert answers and all("YOUR CODE HERE" not in source for source in answers)
    assert any(source.lstrip().startswith("def identity_block") for source in answers)


def test_each_user_runs_their_own_server_and_nbgrader_panel(loop: Loop) -> None:
    for role in STUDENTS:
        assert any("jupyterhub-singleuser" in line for line in loop.servers[role]), (role, loop.servers[role])
        assert str(loop.shared.bin) in " ".join(loop.servers[role])
        assert "nbgrader:open-assignment-list" in loop.menus[role], loop.menus[role]
        # Students get no formgrader: neither in the menu nor on their server.
        assert not INSTRUCTOR_COMMANDS & set(loop.menus[role]), loop.menus[role]
        assert loop.formgrader_status[role] == 404, loop.formgrader_status


def test_students_cannot_read_the_instructor_s_files_or_each_other_s(loop: Loop) -> None:
    from support.unix_users import run_as

    alice, bob = loop.students["alice"], loop.students["bob"]
    for path in (loop.teacher.checkout / "solutions" / f"{LESSON}.py", loop.course / "gradebook.db",
                 bob.home / LESSON / f"{LESSON}.ipynb"):
        assert path.is_file(), path
        run = run_as(alice, ["cat", path], env=alice.env(loop.shared.path()), check=False)
        assert run.returncode != 0 and "Permission denied" in run.stderr, (path, run)
    # The exchange: a student cannot list the course's inbound folder (other students' submissions).
    course_id = json.loads((loop.course / "course.json").read_text(encoding="utf-8"))["course_id"]
    run = run_as(alice, ["ls", loop.exchange / course_id / "inbound"], env=alice.env(), check=False)
    assert run.returncode != 0 and "Permission denied" in run.stderr, run
    # The shared environment has no reference solutions: not installed, not importable.
    assert not list(loop.shared.site_packages.glob("solutions*"))
    run = run_as(alice, [loop.shared.python, "-c", "import solutions"], env=alice.env(loop.shared.path()), check=False)
    assert run.returncode != 0 and "No module named 'solutions'" in run.stderr, run.stderr


LAUNCH = """import subprocess, sys
from autograder.grader.sandbox import launcher_command
sys.exit(subprocess.call(launcher_command([sys.executable, "-c", "import ipykernel, numpy; print('kernel ok')"], [])))
"""


def test_the_instructor_s_sandbox_sees_the_layered_environment_and_ignores_the_folder_s_code(loop: Loop) -> None:
    """A learner's kernel, started as ``grade`` starts it from the instructor's layered venv, imports the shared env.

    It starts in the folder it is graded in, which holds the lesson's own ``autograder/`` and
    whatever else a submission brought: the launcher (outside the sandbox) must not import from there.
    """
    from support.unix_users import write_as

    folder = loop.teacher.user.home / "sandbox-probe"
    loop.teacher.run("mkdir", "-p", folder / "autograder" / "course")
    write_as(loop.teacher.user, folder / "autograder" / "__init__.py", "")
    write_as(loop.teacher.user, folder / "autograder" / "course" / "__init__.py", "")
    write_as(loop.teacher.user, folder / "autograder" / "course" / "sandbox.py",
             "import pathlib\npathlib.Path('SUBMISSION-CODE-RAN').write_text('outside the sandbox')\n")
    run = loop.teacher.run(loop.teacher.python, "-I", "-c", LAUNCH, cwd=folder, check=False, timeout=300)
    assert not (folder / "SUBMISSION-CODE-RAN").exists(), "the launcher imported the graded folder's autograder"
    assert run.returncode == 0 and "kernel ok" in run.stdout, run.stdout + run.stderr[-3000:]


def test_students_validate_with_the_hub_s_config(loop: Loop) -> None:
    assert "Success! Your notebook passes all the tests." in loop.validate["alice"], loop.validate["alice"][-2000:]
    assert "VALIDATION FAILED" in loop.validate["bob"] and "convolutional_block" in loop.validate["bob"]


def test_each_student_fetches_their_own_feedback(loop: Loop) -> None:
    for role in STUDENTS:
        assert len(loop.fetched[role]) == 1, loop.fetched[role]
        # Byte for byte the HTML the course wrote for this student, not the other one.
        assert loop.fetched[role][0].read_text(encoding="utf-8") == loop.feedback_round1[role]
        assert loop.fetched[role][0].stat().st_uid == loop.students[role].uid
    assert f"(Баллы: {MAX} / {MAX})" in loop.feedback_round1["alice"]
    assert f"(Баллы: {BOB_SCORE} / {MAX})" in loop.feedback_round1["bob"]


def test_students_read_their_score_in_the_browser(loop: Loop) -> None:
    """After Fetch Feedback the panel links the feedback; JupyterLab's HTML viewer shows the score."""
    for role, score in (("alice", MAX), ("bob", BOB_SCORE)):
        assert "view feedback" in loop.panel_text[role], loop.panel_text[role]
        text = " ".join(loop.viewer_text.get(role, "").split())
        assert f"(Баллы: {score} / {MAX})" in text, text[:1500]
        assert "Ячейка проверки" in text and "HIDDEN TESTS" not in text


def test_first_round_scores_agree(loop: Loop) -> None:
    first, alice, bob = loop.grades[0], loop.name("alice"), loop.name("bob")
    assert float(first[alice]["score"]) == MAX and float(first[bob]["score"]) == BOB_SCORE
    assert re.search(rf"^{re.escape(alice)} +{LESSON} +{MAX} / {MAX} ", loop.table[0], re.M), loop.table[0]
    assert f"| {alice} | {LESSON} | {MAX} / {MAX} |" in loop.reports[0]


def test_a_late_resubmission_is_penalized_everywhere(loop: Loop) -> None:
    late, alice, bob = loop.grades[1], loop.name("alice"), loop.name("bob")
    assert float(late[alice]["raw_score"]) == MAX and float(late[alice]["late_submission_penalty"]) == MAX
    assert float(late[alice]["score"]) == 0
    assert float(late[bob]["score"]) == BOB_SCORE and float(late[bob]["late_submission_penalty"]) == 0
    # The console table and report.md: the same final score, written first, the penalty after it.
    assert re.search(rf"^{re.escape(alice)} +{LESSON} +0 / {MAX} \(late penalty −{MAX}\)", loop.table[1], re.M), \
        loop.table[1]
    assert re.search(rf"^{re.escape(bob)} +{LESSON} +{BOB_SCORE} / {MAX} ", loop.table[1], re.M), loop.table[1]
    assert f"| {alice} | {LESSON} | 0 / {MAX} (штраф за опоздание −{MAX}) |" in loop.reports[1]
    assert f"| {bob} | {LESSON} | {BOB_SCORE} / {MAX} |" in loop.reports[1]
    feedback = (loop.course / "feedback" / alice / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
    assert f"(Баллы: 0 / {MAX})" in feedback and f"Штраф за опоздание (Баллы: −{MAX})" in feedback


def test_russian_feedback_has_no_english_words_and_no_hidden_tests(loop: Loop) -> None:
    bob = loop.name("bob")
    autograded = (loop.course / "autograded" / bob / LESSON / f"{LESSON}.ipynb").read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" in autograded  # graded with them: the feedback must drop them
    with sqlite3.connect(f"file:{loop.course / 'gradebook.db'}?mode=ro", uri=True) as db:
        comments = [row[0] for row in db.execute("SELECT auto_comment FROM comment")]
    assert "No response." in comments  # nbgrader's comment on bob's untouched answer
    for role in STUDENTS:
        page = (loop.course / "feedback" / loop.name(role) / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
        visible = visible_text(page)
        found = [word for word in ENGLISH if word in visible]
        assert not found, (role, found)
        assert "HIDDEN TESTS" not in page and "record_hidden" not in page
        assert '<html lang="ru">' in page and "Ячейка проверки" in page and "(к началу)" in page
        # Formulas are MathML, drawn by the browser: no MathJax, nothing from the internet, no raw TeX.
        assert page.count("<math") >= 10 and "mathjax" not in page.lower() and "$" not in visible
        assert not re.search(r"""(\bsrc=|<link[^>]*href=)["']?(https?:)?//""", page)  # links stay links


def _chrome(page: str) -> dict[str, list[str]]:
    """The words nbgrader's template puts around a notebook: contents, cell headings, scores."""
    def text(fragment: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())

    return {"title": [text(m) for m in re.findall(r"<h4>(.*?)</h4>", page, re.S)],
            "contents": [text(m) for m in re.findall(r'<div id="toc">(.*?)</div>', page, re.S)],
            "labels": [text(m) for m in re.findall(r'<span class="nbgrader-label">(.*?)</span>', page, re.S)],
            "scores": [text(m) for m in re.findall(r'<span class="pull-right">(.*?)</span>', page, re.S)],
            "prompts": re.findall(r"(?:In(?:&nbsp;|\xa0| )|Out)\[\d*\]:", page)}


def test_english_feedback_words_are_nbgrader_s_own(loop: Loop) -> None:
    """Our template in English says what nbgrader's own template says (alice: with the late penalty line)."""
    pages, alice = {}, loop.name("alice")
    for name, options in (("ours", ["--FeedbackExporter.language=en"]),
                          ("nbgrader", ["--GenerateFeedback.exporter_class=nbconvert.exporters.HTMLExporter"])):
        _nbgrader(loop, "generate_feedback", LESSON, "--student", alice, "--force",
                  f"--CourseDirectory.feedback_directory=feedback_{name}", *options)
        written = loop.course / f"feedback_{name}" / alice / LESSON / f"{LESSON}.html"
        pages[name] = written.read_text(encoding="utf-8")
    # The same words; numbers as the course writes them ("1 / 1") where nbgrader writes "1.0 / 1.0".
    ours, theirs = (_chrome(re.sub(r"\b(\d+)\.0\b", r"\1", pages[name])) for name in ("ours", "nbgrader"))
    assert ours == theirs and ours["prompts"]
    assert f"Late submission penalty (Score: -{MAX})" in ours["contents"][0]
    assert "cdnjs" in pages["nbgrader"] and "cdnjs" not in pages["ours"]  # nbgrader's MathJax comes from a CDN


def test_feedback_in_chromium_offline(loop: Loop) -> None:
    """Bob's fetched feedback in Debian's Chromium: formulas drawn, check messages wrapped, nothing fetched."""
    from selenium.webdriver.common.by import By
    from support.browser import chromium, shot

    with chromium(loop.tmp / "chromium-offline") as driver:
        driver.set_window_size(900, 800)
        driver.get(loop.fetched["bob"][0].as_uri())
        formulas = driver.find_elements(By.TAG_NAME, "math")
        assert formulas and all(f.size["width"] > 5 and f.size["height"] > 5 for f in formulas)
        outputs = driver.find_elements(By.CSS_SELECTOR, "div.output_area pre")
        # Check messages of a line longer than the page is wide (as a student gets them), each one wrapped.
        assert max(len(line) for element in outputs for line in element.text.splitlines()) > 120
        assert all(driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", element)
                   for element in outputs)
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        shot(driver, loop.shots, "07-bob-feedback-offline")


def _submissions(loop: Loop) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{loop.course / 'gradebook.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT submitted_notebook.id, submitted_assignment.student_id "
                          "FROM submitted_notebook JOIN submitted_assignment "
                          "ON submitted_notebook.assignment_id = submitted_assignment.id").fetchall()


def test_the_instructor_sees_the_submissions_in_formgrader(loop: Loop, teacher_browser) -> None:
    """The instructor's server runs formgrader; in its own tab (through the hub) it lists both students.

    JupyterHub (4.1+) forbids framing a user's server (``frame-ancestors 'none'``), so *Nbgrader →
    Formgrader* inside JupyterLab shows a blocked frame; nbgrader's docs keep that setting and open
    formgrader in a tab of its own: ``/user/<name>/formgrader``.
    """
    from selenium.webdriver.common.by import By
    from support import browser
    from support.unix_users import processes_of

    driver = teacher_browser
    servers = [_cmdline(pid) for pid in processes_of(loop.teacher.user.uid)]
    assert any("jupyterhub-singleuser" in line and str(loop.shared.bin) in line for line in servers), servers
    assert INSTRUCTOR_COMMANDS <= set(browser.menu_commands(driver, "Nbgrader"))

    def body() -> str:
        return driver.find_element(By.TAG_NAME, "body").text

    driver.get(loop.hub.user_url(loop.teacher.user.name, "formgrader/"))
    browser.wait_for(driver, lambda d: LESSON in body(), 120, lambda: f"formgrader's assignments: {body()[:2000]}")
    browser.shot(driver, loop.shots, "08-teacher-formgrader")
    driver.get(loop.hub.user_url(loop.teacher.user.name, f"formgrader/manage_submissions/{LESSON}"))
    browser.wait_for(driver, lambda d: all(loop.name(r) in body() for r in STUDENTS), 120,
                     lambda: f"formgrader lists no submissions: {body()[:2000]}")
    browser.shot(driver, loop.shots, "09-teacher-submissions")


def test_formgrader_hides_the_hidden_tests(loop: Loop, teacher_browser) -> None:
    """Formgrader (the instructor's server behind the hub) renders each submission with the course's config."""
    from selenium.webdriver.common.by import By
    from support import browser

    driver = teacher_browser
    submissions = _submissions(loop)
    assert {student for _, student in submissions} == {loop.name(role) for role in STUDENTS} | {
        user.name for user in loop.terminal.values()}
    for notebook_id, student in submissions:
        autograded = (loop.course / "autograded" / student / LESSON / f"{LESSON}.ipynb").read_text()
        driver.get(loop.hub.user_url(loop.teacher.user.name, f"formgrader/submissions/{notebook_id}/"))
        browser.wait_for(driver, lambda d: "identity_block_shape" in d.page_source, 120,
                         lambda student=student: f"{student}'s submission page: {driver.page_source[-2000:]}")
        page = driver.page_source
        assert "record_hidden" in autograded, student
        assert "HIDDEN TESTS" not in page and "record_hidden" not in page, student
        if student == loop.name("bob"):
            browser.shot(driver, loop.shots, "10-teacher-bob-submission")
    assert driver.find_elements(By.TAG_NAME, "body")


def test_lms_files_parse_and_carry_the_final_scores(loop: Loop) -> None:
    alice, bob = loop.name("alice"), loop.name("bob")
    final = {student: float(row["score"]) for student, row in loop.grades[1].items()}
    assert final[alice] == 0 and final[bob] == BOB_SCORE and len(final) == 4
    # Written by `grade` beside grades.csv (before alice had a name: her id stands in).
    with open(loop.course / "grades_moodle.csv", newline="", encoding="utf-8") as file:
        moodle = {row["Username"]: row for row in csv.DictReader(file)}
    assert {name: float(row[LESSON]) for name, row in moodle.items()} == final
    # `nbgrader export --exporter=autograder.course.lms.…`, after the name "Smith, Jr." was recorded.
    text = loop.late_exports["Moodle"].read_text(encoding="utf-8")
    assert '"Smith, Jr."' in text  # quoted, so the comma stays inside the field
    with open(loop.late_exports["Moodle"], newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["First name", "Last name", "Username", "User ID", "Email address", LESSON]
    assert ["Alice", "Smith, Jr.", alice, "1042", "alice@example.org", "0"] in rows[1:]
    assert ["", bob, bob, "", "", str(BOB_SCORE)] in rows[1:] and len(rows) == 5
    with open(loop.late_exports["Canvas"], newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LESSON]
    assert rows[1] == ["Points Possible", "", "", "", "", str(MAX)]
    assert ["Smith, Jr., Alice", "1042", "", alice, "", "0"] in rows[2:]
    assert [bob, "", "", bob, "", str(BOB_SCORE)] in rows[2:] and len(rows) == 6


# The shared hub's defences (issue 15): every check below runs against real users of this machine.

def test_no_port_grade_opens_lets_a_student_in(loop: Loop) -> None:
    """bob tried every port the instructor's processes opened during `grade`: Dask over TCP and TLS, and HTTP."""
    assert "tried" in loop.ports, loop.ports
    tried = loop.ports["tried"]
    # Live TLS servers that refused a client without the run's certificate: the scheduler, the two workers and
    # their nannies (a port seen too late, or Dask's dashboard before it is closed, just refuses the connection).
    live = [port for port, result in tried.items() if "SSL" in result["tls"]]
    assert len(live) >= 5, loop.ports
    answered = {port: result for port, result in tried.items()
                if any(value.startswith("ANSWERED") for value in result.values())}
    assert not answered, answered


def test_a_student_cannot_run_solve_or_read_the_reference(loop: Loop) -> None:
    from support.unix_users import run_as

    alice = loop.students["alice"]
    notebook = alice.home / LESSON / f"{LESSON}.ipynb"
    before = notebook.read_bytes()
    run = run_as(alice, [loop.shared.python, "-m", "autograder", "solve", notebook], env=alice.env(loop.shared.path()),
                 check=False, timeout=300)
    assert run.returncode != 0 and notebook.read_bytes() == before, run.stdout + run.stderr
    for path in (loop.teacher.checkout / "solutions", loop.course / "source" / LESSON / f"{LESSON}.ipynb"):
        run = run_as(alice, ["ls", "-l", path], env=alice.env(), check=False)
        assert run.returncode != 0 and "Permission denied" in run.stderr, (path, run)


def test_students_cannot_read_grades_or_work_nor_write_into_submitted(loop: Loop) -> None:
    from support.unix_users import run_as

    alice, bob = loop.students["alice"], loop.students["bob"]
    readable = [loop.course / name for name in ("grades.csv", "report.md", "grading_notes.json", "course.json")]
    readable += [loop.course / kind / bob.name / LESSON / name for kind, name in (
        ("submitted", f"{LESSON}.ipynb"), ("autograded", f"{LESSON}.ipynb"), ("feedback", f"{LESSON}.html"))]
    for path in readable:
        assert path.is_file(), path
        run = run_as(alice, ["cat", path], env=alice.env(), check=False)
        assert run.returncode != 0 and "Permission denied" in run.stderr, (path, run)
    target = loop.course / "submitted" / alice.name / LESSON
    run = run_as(bob, ["touch", target / "planted.py"], env=bob.env(), check=False)
    assert run.returncode != 0 and not (target / "planted.py").exists(), run
    # nbgrader's collect leaves 0777 folders: the course makes them the instructor's alone again.
    for path in (loop.course / "submitted").rglob("*"):
        assert stat.S_IMODE(path.lstat().st_mode) & 0o077 == 0, (path, oct(path.lstat().st_mode))


def test_a_fork_bomb_graded_by_the_unprivileged_instructor_spares_the_classmate(loop: Loop) -> None:
    """aaron's bomb and alice's honest notebook were graded at the same time, by a grader that is not root."""
    assert loop.teacher.user.uid != 0
    aaron, alice = loop.terminal["aaron"].name, loop.name("alice")
    graded = nbformat.read(loop.course / "autograded" / aaron / LESSON / f"{LESSON}.ipynb", as_version=4)
    printed = "".join(output.get("text", "") for cell in graded.cells for output in cell.get("outputs", []))
    found = re.search(r"FORKS (\d+) of 3000, stopped by (\w+)", printed)
    assert found and found[2] != "nothing" and int(found[1]) < 2000, printed[-2000:]
    assert float(loop.grades[0][alice]["score"]) == MAX
    notes = json.loads((loop.course / "grading_notes.json").read_text(encoding="utf-8"))
    for student in (alice, loop.name("bob")):
        assert not [note for note in notes[f"{student}/{LESSON}"]["notes"] if "kernel" in note.lower()
                    or "ядро" in note.lower()], notes[f"{student}/{LESSON}"]


def test_a_student_cannot_submit_as_another_or_move_their_time(loop: Loop) -> None:
    alice, carol = loop.name("alice"), loop.terminal["carol"].name
    assert loop.forged.get("returncode") == "0" and "forged" in loop.forged["output"], loop.forged
    collect = loop.commands[f"nbgrader collect --update {LESSON}"]
    assert f"{alice}+{LESSON}+" in collect and carol in collect, collect[-3000:]  # refused, and said so
    late = loop.grades[1]
    # alice's grade is her own solved notebook (late: 0), not the untouched one carol put in her name.
    assert float(late[alice]["raw_score"]) == MAX
    # carol's submission counts from when she really made it: after the due date, whatever she wrote.
    assert float(late[carol]["raw_score"]) == MAX and float(late[carol]["late_submission_penalty"]) == MAX
    assert float(late[carol]["score"]) == 0
    stamp = (loop.course / "submitted" / carol / LESSON / "timestamp.txt").read_text(encoding="utf-8")
    due = datetime.datetime.strptime(loop.due, "%Y-%m-%d %H:%M:%S UTC")
    assert datetime.datetime.strptime(stamp.strip(), "%Y-%m-%d %H:%M:%S.%f UTC") > due, (stamp, loop.due)


# Fast checks without a course (no root needed).

def test_default_course_ids_are_readable_and_differ_by_folder(tmp_path: Path) -> None:
    one, two = default_course_id(tmp_path / "a" / "ML course"), default_course_id(tmp_path / "b" / "ML course")
    assert one.startswith("ML-course-") and two.startswith("ML-course-") and one != two
    assert default_course_id(tmp_path / "a" / "ML course") == one  # rebuilt in the same folder: the same id


def test_unsafe_course_ids_are_refused(tmp_path: Path) -> None:
    for bad in ("../escape", "a+b", "", "-x", "x" * 65, "курс"):
        run = subprocess.run([sys.executable, "-m", "autograder", "course", "c", "--lang", "en", "--course-id", bad],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, (bad, run.stderr)
    assert not list(tmp_path.iterdir())


def test_hidden_tests_never_reach_a_page_and_a_stray_marker_breaks_nothing() -> None:
    grade = {"nbgrader": {"grade": True, "grade_id": "g", "points": 1, "solution": False}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("check.g(f)\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS", metadata=grade),
        nbformat.v4.new_code_cell("check.g(f)\n### BEGIN HIDDEN TESTS\nsecret()", metadata=grade),  # never closed
        nbformat.v4.new_code_cell("# my notes: ### BEGIN HIDDEN TESTS"),  # a learner's own cell
    ])
    cleaned, _ = HideHiddenTests().preprocess(notebook, {})
    assert [cell.source for cell in cleaned.cells] == ["check.g(f)", "check.g(f)", "# my notes: ### BEGIN HIDDEN TESTS"]
