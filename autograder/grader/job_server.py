"""A warm process that forks each submission's bounded job: no new Python process, no nbgrader import per job.

Starting ``python -m autograder.grader.autograde_job`` for each submission costs ~2 s on 2 cores, nearly
all of it importing nbgrader, nbconvert and jupyter_client (``benchmarks/README.md``). A grading worker
instead starts this server once (:class:`JobServer`); it imports all that and waits. For each job it
forks a child, which

* becomes a session of its own (the worker kills the whole group when the job runs out of time) and
  dies with the server (``PR_SET_PDEATHSIG``);
* enters a mount namespace of its own — through a user namespace when the grader is not root, as
  ``bwrap --unshare-user`` does — where the job's work folder, its hidden-test recordings and the
  kernels' IPC folder are size-limited tmpfs mounts (:func:`bounded_mounts`), exactly the disk the
  bubblewrap job command gives (``autograde_job.job_command``);
* runs the job (``autograde_job.run``) and exits; the tmpfs mounts go with its namespace.

Once told what the jobs' kernels are like (``SPARE <settings>``), the server keeps the next job's child
forked ahead: it makes its bounded disk and starts its sandboxed kernel (``spare_kernel``) while the
current job runs, then waits on a pipe for its job. Kernel start and imports then overlap the job before.
``ONE <settings>`` forks one such child for the next job only: the worker's warm-up starts its first
submission's kernel while its cores are idle, also where later kernels are not started ahead.

Where namespaces cannot be made this way (a system that allows them to bubblewrap only, say), the
child says so with :data:`NO_NAMESPACE` and the worker runs that job, and every later one, with the
bubblewrap command instead. The server reads commands from its standard input and answers on its
standard output, one line each: ``READY`` once it has imported what jobs need, then for each
``RUN <spec>\t<log>``: ``<pid>`` at once, and ``<pid> <exit status>`` when the job has ended
(``SPARE`` and ``ONE`` have no answer).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NO_NAMESPACE = 97  # a child's exit status: it could not make its mount namespace (the worker falls back)
DISABLE_ENV = "AUTOGRADER_JOB_SERVER"  # "0": every job in a process of its own (bubblewrap), as before

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount_tmpfs(libc: ctypes.CDLL, target: str, size: int) -> None:
    options = f"size={size},mode=0700".encode()
    _check(libc.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"mount tmpfs {target}")


def bounded_mounts(work: str, hidden: str, ipc: str, disk: int, recordings: int, ipc_size: int) -> None:
    """Enter a mount namespace of this process's own where ``work``, ``hidden`` and ``ipc`` are bounded tmpfs.

    Call in a single-threaded process (a fresh fork): a user namespace cannot be entered by a threaded one.
    """
    libc = _libc()
    if os.geteuid() == 0:
        _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    else:  # the namespace's owner maps to this user only: nothing is gained but the right to mount
        uid, gid = os.getuid(), os.getgid()
        _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare(CLONE_NEWUSER | CLONE_NEWNS)")
        Path("/proc/self/setgroups").write_text("deny", encoding="ascii")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1", encoding="ascii")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1", encoding="ascii")
    # Nothing mounted here may show outside (the system's mounts are often shared).
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _mount_tmpfs(libc, work, disk)
    os.mkdir(hidden, 0o700)
    _mount_tmpfs(libc, hidden, recordings)
    _mount_tmpfs(libc, ipc, ipc_size)


def _bounded_disk(work: str, limits_dict: dict) -> str:
    """The job's bounded disk at ``work`` (:func:`bounded_mounts`); why it could not be made ("" when it was)."""
    from autograder.grader.autograde_job import IPC_ROOT, IPC_SIZE, RECORDINGS_SIZE
    from autograder.grader.limits import Limits

    try:
        bounded_mounts(work, str(Path(work) / "hidden"), IPC_ROOT, Limits.from_dict(limits_dict).disk,
                       RECORDINGS_SIZE, IPC_SIZE)
    except OSError as error:
        return str(error)
    return ""


def _no_namespace(why: str) -> int:
    print(f"[job_server] no mount namespace here ({why}); the job runs under bubblewrap", flush=True)
    return NO_NAMESPACE


def _child(spec_path: str, log_path: str) -> int:
    """In the forked child: a session of its own, the log as stdout and stderr, the bounded disk, the job."""
    from autograder.grader.autograde_job import RunSpec, run

    os.setsid()
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _redirect(log_path)
    spec = RunSpec.read(Path(spec_path))
    no_namespace = _bounded_disk(spec.work, spec.limits) if spec.sandbox else ""
    return _no_namespace(no_namespace) if no_namespace else run(spec)


def _redirect(path: str | None) -> None:
    """Standard input from /dev/null; standard output and error to ``path`` (appended), or /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if path else null
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    for fd in {null, out}:
        os.close(fd)


def _read_line(fd: int) -> str:
    """One line from ``fd`` (blocking); "" when its writer closed it first."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 4096)
        if not chunk:
            return ""
        data += chunk
    return data.decode().strip()


def _append_tail(source: Path, log_path: str, limit: int = 64 * 1024) -> None:
    """The end of the waiting kernel's own output (fd 1 and 2: TensorFlow's C++ lines, say) into the job's log."""
    with contextlib.suppress(OSError):
        size = source.stat().st_size
        if size:
            with open(source, "rb") as kernel_log, open(log_path, "ab") as log:
                kernel_log.seek(max(0, size - limit))
                log.write(b"[job_server] the kernel's own output:\n" + kernel_log.read(limit))


def _spare_child(settings: dict, folder: str, commands: int) -> int:
    """A job's process forked before its job (``spare_kernel``): the bounded disk, a waiting kernel, then the job."""
    from autograder.grader import spare_kernel
    from autograder.grader.autograde_job import RunSpec, job_environment, run
    from autograder.grader.limits import Limits

    os.setsid()
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.umask(0o077)
    _redirect(None)  # nothing of it may reach the server's answers
    work = Path(folder)
    kernel_log = work / "kernel.log"
    no_namespace = _bounded_disk(folder, settings["limits"])
    if not no_namespace:
        _redirect(str(kernel_log))  # on its bounded disk; its end goes to the job's log afterwards
        try:
            job_environment(work, int(settings["threads"]), Limits.from_dict(settings["limits"]), True, None)
            spare_kernel.start_spare(work)
        except Exception as error:  # noqa: BLE001 - the job then starts its kernel the usual way
            print(f"[job_server] no kernel started ahead: {type(error).__name__}: {error}", flush=True)
    line = _read_line(commands)
    if not line:  # not needed after all
        spare_kernel.discard()
        return 0
    spec_path, log_path = line.split("\t")
    _redirect(log_path)
    if no_namespace:
        return _no_namespace(no_namespace)
    spec = RunSpec.read(Path(spec_path))
    spec.work = folder  # the disk made for it, where its kernel waits
    spare_kernel.give_seed(spec.seed)
    try:
        return run(spec)
    finally:
        spare_kernel.discard()
        _append_tail(kernel_log, log_path)


def _note(log_path: str, text: str) -> None:
    """A line of the server's own in a job's log (why its kernel was not started ahead, say)."""
    with contextlib.suppress(OSError), open(log_path, "a", encoding="utf-8") as log:
        log.write(f"[job_server] {text}\n")


@dataclass
class _Spare:
    pid: int
    commands: int  # the pipe it reads its job from
    folder: str
    settings: dict


def _fork_spare(settings: dict, root: str) -> _Spare:
    """Fork the next job's process now, so that its kernel starts while the current job runs."""
    folder = tempfile.mkdtemp(prefix="spare-", dir=root)
    read, write = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.close(write)
        _exit_with(functools.partial(_spare_child, settings, folder, read))
    os.close(read)
    return _Spare(pid, write, folder, settings)


def _drop(spare: _Spare) -> None:
    """Stop a spare that will not get a job (its namespace, disk and kernel go with it)."""
    with contextlib.suppress(OSError):
        os.close(spare.commands)
    with contextlib.suppress(OSError):
        os.killpg(spare.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(spare.pid, 0)
    with contextlib.suppress(OSError):
        os.rmdir(spare.folder)


def _fits(spare: _Spare, spec_path: str) -> bool:
    """Whether the spare was made for a job like this one (its kernel's threads, its disk, the sandbox)."""
    from autograder.grader.autograde_job import RunSpec

    try:
        if os.waitpid(spare.pid, os.WNOHANG) != (0, 0):
            return False  # it has ended (and is reaped now)
        spec = RunSpec.read(Path(spec_path))
    except (OSError, ValueError, TypeError, ChildProcessError):
        return False
    return spec.sandbox and {"threads": spec.threads, "limits": spec.limits} == spare.settings


def _exit_with(job: Callable[[], int]) -> None:
    """In a forked child: run ``job`` and exit with its status, whatever happens."""
    code = 1
    try:
        code = job()
    except BaseException as error:  # noqa: BLE001 - the job's failure is in its log, never the server's
        with contextlib.suppress(Exception):
            print(f"[job_server | ERROR] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(scratch: str | None = None) -> None:
    """The server's loop (``python -m autograder.grader.job_server [SCRATCH]``): one job at a time, each in a fork.

    ``SPARE <settings>`` (JSON: the kernels' ``threads`` and the jobs' ``limits``) asks it to keep the next
    job's process, with its kernel started, ready beside the current one (``spare_kernel``).
    """
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker that started it is gone: so is it
    from autograder.grader.autograde_job import preload

    preload()  # what every job imports, imported once
    root = tempfile.mkdtemp(prefix="autograder-spares-", dir=scratch)
    settings: dict | None = None
    spare: _Spare | None = None
    print("READY", flush=True)
    try:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "SPARE":
                settings = json.loads(argument)  # null: no more spares
                if spare is not None and spare.settings != settings:
                    _drop(spare)
                    spare = None
                if settings is not None and spare is None:
                    spare = _fork_spare(settings, root)
                continue
            if command == "ONE":
                if spare is None:  # kept spares already give the next job one
                    spare = _fork_spare(json.loads(argument), root)
                continue
            if command != "RUN":
                continue
            spec_path, log_path = argument.split("\t")
            job, spare = spare, None  # the waiting process takes this job if it was made for one like it
            if job is not None and not _fits(job, spec_path):
                _drop(job)
                job = None
                _note(log_path, "the process started ahead had ended or was made for other jobs; a new one runs it")
            if job is not None:
                try:
                    os.write(job.commands, f"{spec_path}\t{log_path}\n".encode())
                    os.close(job.commands)
                    pid = job.pid
                except OSError:
                    _drop(job)
                    job = None
                    _note(log_path, "the process started ahead did not take the job; a new one runs it")
            if job is None:
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _exit_with(functools.partial(_child, spec_path, log_path))
            print(pid, flush=True)
            if settings is not None:
                spare = _fork_spare(settings, root)  # the next kernel starts while this job runs
            _, status = os.waitpid(pid, 0)
            if job is not None:
                with contextlib.suppress(OSError):
                    os.rmdir(job.folder)
            print(pid, os.waitstatus_to_exitcode(status), flush=True)
    finally:
        if spare is not None:
            _drop(spare)
        shutil.rmtree(root, ignore_errors=True)


class JobServer:
    """The worker's side: start the server once, hand it one job at a time, kill a job that runs too long."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""  # what the server said beyond the last line read
        self._lock = threading.Lock()
        self._spare_settings: dict | None = None  # what the server was last asked to keep a spare for (None: none)
        self.usable = os.environ.get(DISABLE_ENV, "1") != "0"

    def start(self, scratch: str | None = None) -> None:
        """Start the server and wait until it has imported what jobs need; call from a thread that lives as long
        as the worker, since the server dies with the thread that started it. A server that does not start
        leaves the jobs to bubblewrap. ``scratch``: where its jobs' disks are mounted (the temporary folder)."""
        with self._lock:
            if self.usable and (self._process is None or self._process.poll() is not None):
                self._process = subprocess.Popen(
                    [sys.executable, "-I", "-m", "autograder.grader.job_server", *([scratch] if scratch else [])],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
                self._buffer = b""
                self._spare_settings = None
                try:
                    if self._line(self._process, 120) != "READY":
                        raise ServerGone("the job server said something else than READY")
                except (ServerGone, TimeoutError, OSError):
                    self.usable = False
                    self._stop(self._process)

    def keep_spare(self, threads: int | None, limits: dict | None) -> None:
        """Have the next job's process and kernel started ahead, for sandboxed jobs with these kernel threads and
        limits (``spare_kernel``), or none (None); said once, until it changes."""
        settings = {"threads": threads, "limits": limits} if threads is not None else None
        with self._lock:
            if settings != self._spare_settings and self._tell(f"SPARE {json.dumps(settings)}"):
                self._spare_settings = settings

    def start_one_spare(self, threads: int, limits: dict) -> None:
        """Have the next job's process and kernel started ahead now, for that job only (``ONE``)."""
        with self._lock:
            self._tell(f"ONE {json.dumps({'threads': threads, 'limits': limits})}")

    def _tell(self, line: str) -> bool:
        """Send the running server a command that has no answer (hold the lock); whether it was sent."""
        process = self._process
        if process is None or process.poll() is not None or process.stdin is None:
            return False
        try:
            process.stdin.write(f"{line}\n".encode())
        except OSError:
            return False
        return True

    def run(self, spec_path: Path, log_path: Path, timeout: float) -> int | None:
        """Run one job; its exit status, or None when it ran out of time (and was killed).

        Raises ``ServerGone`` when the server is not running (the caller runs the job another way).
        """
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None or process.stdin is None or process.stdout is None:
                raise ServerGone("the job server is not running")
            try:
                process.stdin.write(f"RUN {spec_path}\t{log_path}\n".encode())
                pid = int(self._line(process, 60))
            except (OSError, ValueError, TimeoutError) as error:
                self._stop(process)
                raise ServerGone(f"the job server did not take the job: {error}") from None
            deadline = time.monotonic() + timeout
            try:
                answer = self._line(process, deadline - time.monotonic())
            except TimeoutError:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                self._line(process, 60)  # the killed job's exit
                return None
            code = int(answer.split()[1])
            if code == NO_NAMESPACE:
                self.usable = False
                self._stop(process)
            return code

    def _line(self, process: subprocess.Popen[bytes], timeout: float) -> str:
        """The server's next line, read unbuffered: its two answers to a short job can arrive together."""
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("no answer from the job server")
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise ServerGone("the job server stopped")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode().strip()

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()

    def stop(self) -> None:
        """Stop the server: asked first (it stops its waiting job and removes its folder), killed if it will not."""
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None:
                with contextlib.suppress(OSError):
                    assert process.stdin is not None
                    process.stdin.close()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._stop(process)


class ServerGone(RuntimeError):
    """The job server is not there to take a job."""


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else None)
