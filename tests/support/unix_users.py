"""Real Unix users for tests that need several people on one machine (a JupyterHub, attacks between uids).

* :func:`require_root` skips the calling test unless it runs as root (creating users needs it).
* :class:`User` is one account: name, uid, gid, home, password; :meth:`User.env` is the clean
  environment of a login shell of that user (their HOME, USER, a PATH you choose — never root's).
* :func:`create_user` makes one with ``useradd`` (a group of its own, a home folder, a password set
  with ``chpasswd``, the home ``chmod 700`` as the README's administrator does) and
  :func:`delete_user` kills every process of that uid, by pid, removes what it left in the temporary
  folder, and removes it with ``userdel -r``.
* :class:`Users` creates users with a random suffix shared by one run (``alice-3f9a1c``), so runs
  never collide, and deletes them all on :meth:`Users.close` — also when a test failed midway.
* :func:`run_as` / :func:`popen_as` run a command as a user (setuid, no extra groups, umask 022,
  its own session so a timeout kills everything it started).
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


def require_root() -> None:
    """Skip the calling test unless this process is root (users, setuid and the hub need it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: it creates Unix users (useradd), runs commands as them and a JupyterHub as root")


@dataclass(frozen=True)
class User:
    """One Unix account created for a test."""

    name: str
    uid: int
    gid: int
    home: Path
    password: str

    def env(self, path: Sequence[str | os.PathLike[str]] = (),
            extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A login-like environment of this user: HOME, USER, LOGNAME, SHELL, LANG; PATH ``path`` + the system's."""
        env = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name, "SHELL": "/bin/bash",
               "LANG": "C.UTF-8", "PATH": ":".join([*(str(p) for p in path), *SYSTEM_PATH])}
        return env | dict(extra or {})


def processes_of(uid: int) -> list[int]:
    """The pids whose real or effective uid is ``uid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        real, effective = (int(field) for field in line.split()[1:3])
                        if uid in (real, effective):
                            found.append(int(entry))
                        break
        except (OSError, ValueError):
            continue
    return found


def kill_processes_of(uid: int, timeout: float = 20) -> list[int]:
    """SIGKILL every process of ``uid``, pid by pid, until none is left; returns the pids it killed."""
    assert uid != 0, "never root's processes"
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while pids := processes_of(uid):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of uid {uid} survive SIGKILL: {pids}")
        time.sleep(0.2)
    return killed


def create_user(name: str, password: str | None = None, private_home: bool = True) -> User:
    """``useradd --create-home --user-group`` with a password (``chpasswd``); the home ``chmod 700`` if private."""
    password = password or secrets.token_urlsafe(12)
    subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name], check=True,
                   capture_output=True, text=True, timeout=60)
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", check=True, capture_output=True, text=True,
                       timeout=60)
        entry = pwd.getpwnam(name)
        home = Path(entry.pw_dir)
        if private_home:
            home.chmod(0o700)  # the README's admin step: students cannot read each other's (or the instructor's) files
        return User(name, entry.pw_uid, entry.pw_gid, home, password)
    except BaseException:
        subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=60)
        raise


def remove_temporary_files_of(uid: int) -> None:
    """Remove what the uid left directly in the temporary folder (a killed grading service's scratch folder,
    Dask's scratch space): its processes are gone, and nobody else owns those files."""
    for entry in Path(tempfile.gettempdir()).iterdir():
        try:
            if entry.lstat().st_uid != uid:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
        except OSError:
            continue


def delete_user(user: User | str) -> None:
    """Kill every process of the user (by pid), then ``userdel --remove`` (the home and mail spool go too)."""
    name = user.name if isinstance(user, User) else user
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    kill_processes_of(entry.pw_uid)
    remove_temporary_files_of(entry.pw_uid)
    run = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True, timeout=60)
    if run.returncode not in (0, 12):  # 12: the home was already gone
        raise RuntimeError(f"userdel {name}: {run.stderr.strip()}")
    try:  # a group left behind because useradd made it but userdel did not remove it
        grp.getgrnam(name)
        subprocess.run(["groupdel", name], capture_output=True, timeout=60)
    except KeyError:
        pass


class Users:
    """The users of one test run: ``Users().add("alice")`` is ``alice-<suffix>``; :meth:`close` deletes them all."""

    def __init__(self, suffix: str | None = None) -> None:
        self.suffix = suffix or secrets.token_hex(3)
        self.created: dict[str, User] = {}

    def name(self, role: str) -> str:
        return f"{role}-{self.suffix}"

    def add(self, role: str, password: str | None = None, private_home: bool = True) -> User:
        """Create the user ``<role>-<suffix>``; ``self[role]`` returns it later."""
        user = create_user(self.name(role), password, private_home)
        self.created[role] = user
        return user

    def __getitem__(self, role: str) -> User:
        return self.created[role]

    def __iter__(self):
        return iter(self.created.values())

    def close(self) -> None:
        """Delete every user created here (processes killed first); raise the first error after trying all."""
        errors = []
        for role in list(self.created):
            try:
                delete_user(self.created.pop(role))
            except Exception as error:  # noqa: BLE001 - go on with the others, report after
                errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> Users:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _spawn_kwargs(user: User, env: Mapping[str, str] | None) -> dict:
    return {"user": user.uid, "group": user.gid, "extra_groups": [], "umask": 0o022, "start_new_session": True,
            "env": dict(env) if env is not None else user.env()}


def popen_as(user: User, argv: Sequence[str | os.PathLike[str]], cwd: str | os.PathLike[str] | None = None,
             env: Mapping[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start ``argv`` as ``user`` (default cwd: their home; default env: :meth:`User.env`), in a new session."""
    return subprocess.Popen([str(a) for a in argv], cwd=cwd or user.home, **_spawn_kwargs(user, env), **kwargs)


def run_as(user: User, argv: Sequence[str | os.PathLike[str]], cwd: str | os.PathLike[str] | None = None,
           env: Mapping[str, str] | None = None, check: bool = True, timeout: float = 600,
           input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``user`` and wait; stdout and stderr captured as text.

    ``check``: raise AssertionError with the end of the output when the exit status is not 0.
    On ``timeout`` the whole session the command started is killed and AssertionError raised.
    """
    process = popen_as(user, argv, cwd, env, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(process)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"{user.name}$ {_shell(argv)}: no exit in {timeout} s\n{(stdout + stderr)[-3000:]}") from None
    finally:
        if process.poll() is None:
            _kill_session(process)
    run = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if check and run.returncode != 0:
        raise AssertionError(f"{user.name}$ {_shell(argv)}: exit {run.returncode}\n{(stdout + stderr)[-3000:]}")
    return run


def _kill_session(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _shell(argv: Iterable[object]) -> str:
    return " ".join(str(a) for a in argv)


def write_as(user: User, path: str | os.PathLike[str], content: str | bytes, mode: int = 0o644) -> None:
    """Write ``path`` as ``user`` (their uid owns it; their permissions decide whether it can be written)."""
    text = content if isinstance(content, str) else content.decode("utf-8")
    run_as(user, ["/bin/sh", "-c", f'umask {0o777 & ~mode:03o}; cat > "$1"', "sh", str(path)], input=text, timeout=60)
