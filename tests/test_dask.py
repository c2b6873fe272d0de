"""Grading on a real Dask cluster: a scheduler and two workers started as separate processes on 127.0.0.1.

The cluster speaks TLS with the certificates ``python -m autograder certificates`` makes, as the
README says to run it. Each worker runs in its own empty working folder: it never sees the course
folder, only the bytes of the tasks. The scores must be exactly those of a ``--jobs 1`` run, also
when one worker is killed (SIGKILL to its process group) while it grades. Nobody without the
certificates gets in, and a plain ``tcp://`` scheduler is refused before anything is sent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from support.course import scores

from autograder.authoring.solve import solve
from autograder.course.create import build_course
from autograder.course.grade import read_notes

LESSON = "residual_networks"
DASK = [sys.executable, "-m", "distributed.cli"]



def grade(root: Path, *args: str, wait: bool = True) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    command = [sys.executable, "-m", "autograder", "grade", str(root), "--memory-limit", "5G", *args]
    if "--scheduler" in args:
        certificates = root.parent / "certificates"
        command += ["--tls-ca-file", str(certificates / "ca.pem"), "--tls-cert", str(certificates / "cluster.pem"),
                    "--tls-key", str(certificates / "cluster-key.pem")]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root.parent)
    return subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=root.parent)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Solved, untouched and crashing submissions, graded once with ``--jobs 1`` for reference."""
    root = build_course(tmp_path_factory.mktemp("dask") / "course", "en", cell_timeout=40)
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    solved = solve(release, LESSON)
    crashing = nbformat.from_dict(json.loads(json.dumps(solved)))
    index = next(i for i, c in enumerate(crashing.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "ResNet50_config")
    crashing.cells.insert(index + 1, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    for student, notebook in {"solved": solved, "untouched": release, "crashing": crashing,
                              "solved_too": solved}.items():
        shutil.copytree(root / "release" / LESSON, root / "submitted" / student / LESSON)
        nbformat.write(notebook, root / "submitted" / student / LESSON / f"{LESSON}.ipynb")
    return root


@pytest.fixture(scope="module")
def reference_scores(course: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    copy = tmp_path_factory.mktemp("jobs1") / "course"
    shutil.copytree(course, copy)
    run = grade(copy, "--jobs", "1")
    assert run.returncode == 0, run.stderr[-3000:]
    got = scores(copy)
    assert got == {"solved": 18, "untouched": 0, "crashing": 16, "solved_too": 18}
    return got


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes over TLS, each worker in its own empty folder."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = folder
        made = subprocess.run([sys.executable, "-m", "autograder", "certificates", str(folder / "certificates")],
                              capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        certificates = folder / "certificates"
        tls = ["--tls-ca-file", str(certificates / "ca.pem"), "--tls-cert", str(certificates / "cluster.pem"),
               "--tls-key", str(certificates / "cluster-key.pem")]
        scheduler_file = folder / "scheduler.json"
        self.scheduler = self._start(["dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--protocol", "tls", *tls, "--scheduler-file", str(scheduler_file)],
                                     folder / "scheduler")
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(scheduler_file.read_text())["address"]
        assert self.address.startswith("tls://"), self.address
        self.workers = [self._start(["dask_worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                     "--no-dashboard", "--memory-limit", "0", "--host", "127.0.0.1", *tls,
                                     "--local-directory", str(folder / f"worker{n}")], folder / f"worker{n}")
                        for n in range(workers)]

    def _start(self, command: list[str], cwd: Path) -> subprocess.Popen[bytes]:
        cwd.mkdir()
        log = open(cwd.with_suffix(".log"), "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen([*DASK[:2], f"{DASK[2]}.{command[0]}", *command[1:]], cwd=cwd, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def busy_worker(self, timeout: float = 300) -> int:
        """The index of a worker that is grading right now (its process tree runs an nbgrader kernel)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, worker in enumerate(self.workers):
                if any("ipykernel" in _cmdline(pid) for pid in _descendants(worker.pid)):
                    return index
            time.sleep(0.5)
        raise AssertionError("no worker started grading")

    def kill(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path, workers=2)
    try:
        yield running
    finally:
        running.stop()


def test_grading_on_a_cluster_gives_the_scores_of_one_local_worker(
        course: Path, reference_scores: dict[str, float], cluster: Cluster, tmp_path: Path) -> None:
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    run = grade(copy, "--scheduler", cluster.address)
    assert run.returncode == 0, run.stderr[-3000:]
    assert scores(copy) == reference_scores
    notes = {key: found["notes"] for key, found in read_notes(copy).items()}
    assert "exit code 3" in " ".join(notes["crashing/residual_networks"])  # a grading result, not a retry
    # Feedback HTML was made on the workers and came back as bytes.
    assert all((copy / "feedback" / s / LESSON / f"{LESSON}.html").is_file() for s in reference_scores)
    # The workers never held the course (they only ever saw bytes): at most the lesson's assignment-only
    # gradebook they were sent, with no student in it, and no grades.csv.
    for n in range(2):
        folder = tmp_path / f"worker{n}"
        assert not list(folder.rglob("grades.csv"))
        for db in folder.rglob("gradebook.db"):
            with sqlite3.connect(db) as connection:
                assert connection.execute("SELECT COUNT(*) FROM student").fetchone() == (0,), db


def test_a_worker_killed_while_grading_loses_nothing(
        course: Path, reference_scores: dict[str, float], cluster: Cluster, tmp_path: Path) -> None:
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    running = grade(copy, "--scheduler", cluster.address, wait=False)
    victim = cluster.busy_worker()
    time.sleep(3)  # well inside its submission
    cluster.kill(victim)
    stdout, stderr = running.communicate(timeout=1200)
    assert running.returncode == 0, stderr[-3000:]
    assert scores(copy) == reference_scores


def _handshake_without_certificate(address: str) -> str:
    """Connect to a tls:// address as an outsider would (TLS, no client certificate): what happened."""
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=host) as channel:
            channel.sendall(b"\x00" * 64)
            return "answered" if channel.recv(1) else "closed"
    except (ssl.SSLError, OSError) as error:
        return f"refused: {type(error).__name__}"


def test_nobody_without_the_certificates_gets_in(cluster: Cluster, tmp_path: Path) -> None:
    """An outsider's TLS handshake fails, a Dask client with a certificate of its own is refused."""
    assert _handshake_without_certificate(cluster.address).startswith("refused"), cluster.address
    outsider = tmp_path / "outsider"
    subprocess.run([sys.executable, "-m", "autograder", "certificates", str(outsider)], check=True, timeout=120)
    code = ("import sys\nfrom distributed import Client\nfrom distributed.security import Security\n"
            f"security = Security(tls_ca_file={str(outsider / 'ca.pem')!r}, tls_client_cert="
            f"{str(outsider / 'cluster.pem')!r}, tls_client_key={str(outsider / 'cluster-key.pem')!r}, "
            "require_encryption=True)\n"
            f"try:\n    Client({cluster.address!r}, security=security, timeout='10s')\nexcept Exception as e:\n"
            "    print('refused', type(e).__name__)\nelse:\n    print('CONNECTED')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "refused" in run.stdout and "CONNECTED" not in run.stdout, run.stdout + run.stderr[-2000:]


def test_a_plain_tcp_scheduler_is_refused_in_one_line(course: Path, tmp_path: Path) -> None:
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(copy), "--scheduler",
                          "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 2
    assert "is not a tls:// address" in run.stderr.strip().splitlines()[-1]
    assert not (copy / "grades.csv").exists()


def test_a_worker_of_another_version_is_refused(course: Path, cluster: Cluster, tmp_path: Path) -> None:
    """The workers run the installed code; a grader whose code differs is told so in one line."""
    copy = tmp_path / "course"
    shutil.copytree(course, copy)
    code = ("import sys\nfrom autograder.course import cluster\ncluster.fingerprint = lambda: '0.0.0+other'\n"
            "from autograder.cli import main\nsys.exit(main(sys.argv[1:]))")
    tls = tmp_path / "certificates"
    run = subprocess.run([sys.executable, "-c", code, "grade", str(copy), "--scheduler", cluster.address,
                          "--tls-ca-file", str(tls / "ca.pem"), "--tls-cert", str(tls / "cluster.pem"),
                          "--tls-key", str(tls / "cluster-key.pem")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert "runs autograder" in lines[-1] and "install the same version" in lines[-1]
    assert not (copy / "grades.csv").exists()
