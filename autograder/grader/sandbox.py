"""The bubblewrap sandbox a learner's kernel runs in while it is graded.

Inside, the kernel sees the Python environment and the system's libraries read-only, the one
folder it is graded in (read-write, its working directory), the folders its kernel manager
names (the IPC sockets, the hidden-test recordings) and a private, size-limited ``/tmp`` —
nothing else: no course root, no gradebook, no repository, no other student, no home folder.
It has its own network namespace (no network; the kernel talks to nbgrader over unix
sockets), its own PID namespace (every process it starts dies with it), and limits on
processes, file size and open files. Its environment is rebuilt from an allow-list.

When the grader runs as root (CI, containers, a grading host), the kernel also drops to a uid
of its own: root ignores ``RLIMIT_NPROC``, so without that a fork bomb would have no limit.
An unprivileged grader gets the same namespaces through a user namespace instead.

``python -m autograder.grader.sandbox [--rw DIR]… -- COMMAND…`` is the launcher the kernel
manager starts: it sets the limits, hands the writable folders to the sandbox's uid and
replaces itself with ``bwrap``, so the kernel manager's process *is* the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

from autograder.grader.limits import DEFAULT, Limits

BWRAP = "bwrap"
# Environment variables a kernel may keep; everything else (tokens, the instructor's paths) stays out.
ENV_PREFIXES = ("TF_CPP_", "TF_NUM_", "TF_ENABLE_", "OMP_", "MKL_", "NBGRADER_", "RESNET_COURSE_", "LC_")
ENV_NAMES = ("LANG", "LANGUAGE", "TZ", "PYTHONHASHSEED", "MPLBACKEND", "CUDA_VISIBLE_DEVICES",
             "AUTOGRADER_RECORD_DIR", "AUTOGRADER_HIDDEN_SEED")
# System folders a Python kernel needs; /etc only in part (no passwd, shadow, ssh, ssl keys).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime",
       "/etc/fonts", "/etc/mime.types")
SITE_FOLDERS = ("site-packages", "dist-packages")
UID_BASE = 1_000_000  # uids of root-run sandboxes: UID_BASE + the launcher's pid, unique while it runs
LIMITS_ENV = "AUTOGRADER_LIMITS"  # the job's limits (JSON), read by the launcher outside the sandbox
# Run first inside the sandbox: the process limit, then the kernel. Set there, after bwrap made the
# user namespace, RLIMIT_NPROC counts the processes of that namespace only (Linux 5.14+ counts it per
# user namespace), so each kernel has a budget of its own even when every kernel runs as the same
# unprivileged grader; set outside, all kernels and the grader's own processes shared one.
SET_PROCESS_LIMIT = ("import os, resource, sys; n = int(sys.argv[1]); "
                     "resource.setrlimit(resource.RLIMIT_NPROC, (n, n)); os.execv(sys.argv[2], sys.argv[2:])")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here; the message says how to fix it."""


def bwrap_path() -> str | None:
    return shutil.which(BWRAP)


def _namespace_flags() -> list[str]:
    flags = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    # As root the namespaces need no user namespace, and one mapped to root would keep the
    # kernel from dropping to its own uid; anyone else needs one.
    return flags if os.geteuid() == 0 else ["--unshare-user", *flags]


def check() -> str:
    """Raise SandboxUnavailable unless a sandbox can start here; return bwrap's version line."""
    from autograder.learner.i18n import cli_language, message

    path = bwrap_path()
    if path is None:
        raise SandboxUnavailable(message("cli.bwrap_missing", cli_language()))
    trial = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_namespace_flags(),
                            "--die-with-parent", "--", "true"], capture_output=True, text=True, timeout=30)
    if trial.returncode != 0:
        why = (trial.stderr.strip().splitlines() or [f"exit code {trial.returncode}"])[-1]
        raise SandboxUnavailable(message("cli.bwrap_failed", cli_language(), why=why))
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return version.stdout.strip() or "bubblewrap"


def _python_roots() -> list[str]:
    """The folders the Python environment lives in (the interpreter, the standard library, site-packages).

    Site-packages named on ``sys.path`` count too: a venv layered on a shared one by a ``.pth`` file (as
    on a hub, README) imports from both. Only folders named site-packages or dist-packages: never the
    instructor's checkout, which an editable install also puts on ``sys.path`` and which holds the answers.
    """
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             *(sysconfig.get_paths().get(key, "") for key in ("stdlib", "platstdlib", "purelib", "platlib")),
             *(entry for entry in sys.path if os.path.basename(entry.rstrip(os.sep)) in SITE_FOLDERS)}
    real = {os.path.realpath(path) for path in paths if path and os.path.isdir(path)}
    real.add(os.path.dirname(os.path.realpath(sys.executable)))
    # Keep only the outermost folders.
    return sorted(path for path in real if not any(path != other and path.startswith(other + os.sep)
                                                   for other in real))


def _bind_with_parents(path: str, option: str = "--ro-bind") -> list[str]:
    """Bind ``path`` at the same place, its parents made traversable (bwrap would create them 0700)."""
    args: list[str] = []
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        parent = str(Path(*parts[:depth]))
        if not any(parent == system or parent.startswith(system + os.sep) for system in SYSTEM):
            args += ["--perms", "0755", "--dir", parent]
    return args + [option, path, path]


def _environment(home: str) -> list[str]:
    python_bin = os.path.dirname(sys.executable)
    keep = {key: value for key, value in os.environ.items()
            if key.startswith(ENV_PREFIXES) or key in ENV_NAMES}
    keep.update({"HOME": home, "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "TMPDIR": "/tmp",
                 "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONNOUSERSITE": "1"})
    args = ["--clearenv"]
    for key, value in sorted(keep.items()):
        args += ["--setenv", key, value]
    return args


def bwrap_command(command: list[str], workdir: str, writable: list[str], limits: Limits,
                  uid: int | None) -> list[str]:
    """The ``bwrap`` command line that runs ``command`` in ``workdir`` inside the sandbox."""
    args = [bwrap_path() or BWRAP]
    for system in SYSTEM:
        if os.path.islink(system):
            args += ["--symlink", os.readlink(system), system]
        elif os.path.isdir(system):
            args += ["--ro-bind", system, system]
    for path in ETC:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--dev", "/dev", "--proc", "/proc",
             "--perms", "1777", "--size", str(limits.kernel_tmp), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm"]
    # After the private /tmp, or it would hide an environment that lives there (a venv in /tmp).
    for root in _python_roots():
        if not any(root == s or root.startswith(s + os.sep) for s in SYSTEM):
            args += _bind_with_parents(root)
    for folder in dict.fromkeys([workdir, *writable]):
        args += _bind_with_parents(folder, "--bind")
    args += ["--chdir", workdir, *_namespace_flags(), "--die-with-parent", "--hostname", "sandbox",
             *_environment("/tmp")]
    command = [sys.executable, "-I", "-c", SET_PROCESS_LIMIT, str(limits.kernel_processes), *command]
    if uid is not None:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        command = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                   "--bounding-set=-all", "--", *command]
    return [*args, "--", *command]


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (every thread's list), from /proc."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listed:
                found.extend(int(child) for child in listed.read().split())
    except OSError:
        pass
    return found


def hand_over(folder: str, uid: int) -> None:
    """Give the sandbox's uid the folder it may write (root grader only)."""
    for base, dirs, files in os.walk(folder):
        for name in [base, *(os.path.join(base, n) for n in dirs + files)]:
            os.lchown(name, uid, uid)


def job_limits() -> Limits:
    """The limits the grading job set for its kernels (its defaults when run on its own)."""
    text = os.environ.get(LIMITS_ENV)
    return Limits.from_dict(json.loads(text)) if text else DEFAULT


def launch(command: list[str], writable: list[str], limits: Limits | None = None) -> None:
    """Set the limits and exec bwrap; the current directory is the folder the kernel is graded in."""
    limits = limits or job_limits()
    workdir = os.getcwd()
    uid = None
    if os.geteuid() == 0:
        uid = UID_BASE + os.getpid()
        for folder in [workdir, *writable]:
            hand_over(folder, uid)
    else:
        # The user namespace bwrap creates takes its ceiling on the grader's processes from this limit: at
        # its hard maximum it leaves the per-kernel limit set inside (SET_PROCESS_LIMIT) to do the work.
        _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        resource.setrlimit(resource.RLIMIT_NPROC, (hard, hard))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    argv = bwrap_command(command, workdir, writable, limits, uid)
    # The kernel manager interrupts a cell with SIGINT to the whole process group: bwrap must
    # survive it (the kernel installs its own handler while it runs a cell).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.execv(argv[0], argv)


def launcher_command(command: list[str], writable: list[str]) -> list[str]:
    """How a kernel manager starts ``command`` sandboxed (see ``launch``)."""
    rw = [arg for folder in writable for arg in ("--rw", folder)]
    # -I: the working folder is the lesson's, whose own copy of the learner runtime is also called autograder.
    return [sys.executable, "-I", "-m", "autograder.grader.sandbox", *rw, "--", *command]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.grader.sandbox", description=__doc__)
    parser.add_argument("--rw", action="append", default=[], help="another folder the sandbox may write")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    launch(command, [os.path.realpath(folder) for folder in args.rw])


if __name__ == "__main__":
    main()
