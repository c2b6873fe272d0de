"""The Python environments of a shared JupyterHub: the students' (shared) one and the instructor's own.

* :func:`shared_env` builds, or finds cached, the environment every user's single-user server and
  kernels run, as an administrator builds it: ``/usr/bin/python3 -m venv`` (Debian's Python),
  then ``pip install`` of the project's **wheel** (``pip wheel --no-deps``: no ``solutions/``, no
  tests) with its dependencies and ``jupyterhub``. nbgrader's JupyterLab extensions are set for
  students there: the Assignments panel and Validate on, formgrader, Create Assignment and the
  course list off (nbgrader's documented ``--level=sys_prefix`` / ``--sys-prefix`` switches); the
  instructor turns them back on at user level (:func:`enable_instructor_extensions`).
  It lives in ``/opt/resnet-course-tests/shared-<hash of pyproject.toml and Python>/`` (0755, so
  every uid can run it), is cached between runs and rebuilt only when that hash changes; when the
  package's files change only the wheel is reinstalled. Override the folder with
  ``RESNET_TEST_ENV_ROOT``.
* :func:`locked` holds the cache's lock: one run at a time builds or uses an environment (the
  per-run students' config is written into it, see :meth:`SharedEnv.student_config`).
* :func:`instructor_env` gives the instructor a private checkout (the repository's tracked and
  not-ignored files) in their 0700 home and an environment of their own layered on the shared one
  (a venv whose ``shared-env.pth`` adds the shared site-packages, then ``pip install --no-deps
  --no-build-isolation -e`` the checkout), so only the instructor's processes see ``solutions/``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .unix_users import User, run_as, write_as

REPO = Path(__file__).resolve().parents[2]
ENV_ROOT = Path(os.environ.get("RESNET_TEST_ENV_ROOT", "/opt/resnet-course-tests"))
BASE_PYTHON = Path("/usr/bin/python3")  # Debian's; python3-venv provides its venv module
EXTRA = ("jupyterhub>=5,<7", "setuptools>=68")  # the hub itself; setuptools for the instructor's editable install
STAMP = ".resnet-test-env.json"
CONFIGURATION = 3  # bump when _configure changes: cached environments are configured again
# nbgrader's JupyterLab plugins and server extensions a student does not get (nbgrader's docs: the
# table "which extension to enable" for students, instructors and formgraders).
INSTRUCTOR_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                  "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
# JupyterLab for everyone: no news or update checks (nothing fetched from the internet by the page).
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


@dataclass(frozen=True)
class SharedEnv:
    """The shared environment: ``prefix`` (a venv every uid can read and run)."""

    prefix: Path
    built_seconds: float = 0.0  # time this call spent building or updating it (0: used the cache as is)

    @property
    def bin(self) -> Path:
        return self.prefix / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def site_packages(self) -> Path:
        return Path(next(self.prefix.glob("lib/python3*/site-packages")))

    @property
    def jupyter_config_dir(self) -> Path:
        """``<prefix>/etc/jupyter``: the per-environment ``/etc/jupyter`` every user of the env reads."""
        return self.prefix / "etc" / "jupyter"

    def path(self) -> list[str]:
        """What a user's PATH starts with to use this environment."""
        return [str(self.bin)]

    @contextlib.contextmanager
    def student_config(self, config: Path) -> Iterator[Path]:
        """Install ``config`` as ``<prefix>/etc/jupyter/nbgrader_config.py`` for every user, removed on exit.

        The README's ``/etc/jupyter/nbgrader_config.py``, for this environment only (the machine's
        /etc/jupyter stays untouched). Hold :func:`locked` while it is there.
        """
        target = self.jupyter_config_dir / "nbgrader_config.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(config, target)
        target.chmod(0o644)
        try:
            yield target
        finally:
            target.unlink(missing_ok=True)


def repo_files(repo: Path = REPO) -> list[str]:
    """The repository's files a checkout has: tracked, and new ones not ignored (``git ls-files -co``)."""
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True, timeout=60).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (repo / name).is_file())


def copy_repo(destination: Path, repo: Path = REPO, files: list[str] | None = None) -> Path:
    """Copy the repository's files (:func:`repo_files`) into ``destination``, as a fresh checkout has them."""
    for name in files if files is not None else repo_files(repo):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    return destination


def _digest(paths: list[Path], *extra: str) -> str:
    digest = hashlib.sha256()
    for text in extra:
        digest.update(text.encode() + b"\0")
    for path in paths:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _dependency_key(repo: Path) -> str:
    version = subprocess.run([str(BASE_PYTHON), "-c", "import sys; print(sys.version)"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    return _digest([repo / "pyproject.toml"], version, *EXTRA)


def _wheel_inputs(repo: Path) -> list[str]:
    return [name for name in repo_files(repo)
            if name.startswith("autograder/") or name in ("pyproject.toml", "README.md")]


@contextlib.contextmanager
def locked(root: Path = ENV_ROOT, timeout: float = 1800) -> Iterator[None]:
    """The cache's lock (``<root>/.lock``): one run builds or uses the shared environment at a time."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    with open(root / ".lock", "w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another test run holds {root / '.lock'} for over {timeout} s") from None
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pip(python: Path, *args: str, log: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{python.parent}:/usr/local/bin:/usr/bin:/bin"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    with log.open("a", encoding="utf-8") as output:
        output.write(f"\n$ {python} -m pip {' '.join(args)}\n")
        output.flush()
        run = subprocess.run([str(python), "-m", "pip", *args], env=env, stdout=output, stderr=subprocess.STDOUT,
                             timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args[:3])} failed (exit {run.returncode}); log: {log}\n"
                           + log.read_text(encoding="utf-8", errors="replace")[-3000:])


def _build_wheel(python: Path, repo: Path, work: Path, log: Path) -> Path:
    """``pip wheel --no-deps`` of a clean copy of the repository (the working tree gets no build/ folder).

    Built with the environment's own setuptools (``--no-build-isolation``: nothing downloaded).
    """
    shutil.rmtree(work, ignore_errors=True)
    source = copy_repo(work / "source", repo)
    _pip(python, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(source),
         log=log)
    (wheel,) = (work / "dist").glob("resnet_course-*.whl")
    return wheel


def _jupyter(prefix: Path, *args: str) -> None:
    subprocess.run([str(prefix / "bin" / "jupyter"), *args], check=True, capture_output=True, text=True, timeout=300,
                   env={"PATH": f"{prefix / 'bin'}:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"})


def _configure(prefix: Path) -> None:
    """The administrator's settings of the environment: nbgrader's student extensions only, quiet JupyterLab.

    ``unlock`` after ``disable``: JupyterLab (4.1+) copies plugins disabled at ``sys_prefix`` level
    into ``lockedExtensions``, and a locked plugin cannot be enabled again at user level — the
    instructor's ``jupyter labextension enable --level=user`` would say "Extension locked at a
    higher level" and leave formgrader off.
    """
    _jupyter(prefix, "labextension", "disable", "--level=sys_prefix", *INSTRUCTOR_LAB)
    _jupyter(prefix, "labextension", "unlock", "--level=sys_prefix", *INSTRUCTOR_LAB)
    _jupyter(prefix, "server", "extension", "disable", "--sys-prefix", *INSTRUCTOR_SERVER)
    overrides = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps(LAB_OVERRIDES, indent=1) + "\n", encoding="utf-8")


def _readable(path: Path) -> None:
    """Every uid may read and run what is under ``path`` (``chmod -R a+rX``); its parents traversable."""
    subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True, timeout=300)
    for parent in path.parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            raise PermissionError(f"{parent} is not traversable by other users (mode {oct(mode & 0o777)}): "
                                  "choose RESNET_TEST_ENV_ROOT elsewhere")


def shared_env(repo: Path = REPO, root: Path = ENV_ROOT) -> SharedEnv:
    """The shared environment for the current code: built (cold: venv, wheel, dependencies) or updated (new wheel).

    Call it holding :func:`locked`. Its log is ``<prefix>.log``.
    """
    started = time.monotonic()
    prefix = root / f"shared-{_dependency_key(repo)}"
    log = prefix.with_suffix(".log")
    stamp_path = prefix / STAMP
    stamp = json.loads(stamp_path.read_text()) if stamp_path.is_file() else None
    code = _digest([repo / name for name in _wheel_inputs(repo)])
    if stamp is None:  # cold: a new environment
        shutil.rmtree(prefix, ignore_errors=True)
        for old in root.glob("shared-*"):  # environments of other dependency sets: stale
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
        log.write_text("", encoding="utf-8")
        subprocess.run([str(BASE_PYTHON), "-m", "venv", str(prefix)], check=True, capture_output=True, timeout=300)
        python = prefix / "bin" / "python"
        _pip(python, "install", "--upgrade", "pip", "setuptools>=68", log=log)  # to build the wheel
        wheel = _build_wheel(python, repo, root / "wheel-build", log)
        _pip(python, "install", str(wheel), *EXTRA, log=log)
        _configure(prefix)
    elif stamp["code"] != code or stamp.get("configuration") != CONFIGURATION:
        if stamp["code"] != code:  # the package changed: only the wheel
            python = prefix / "bin" / "python"
            wheel = _build_wheel(python, repo, root / "wheel-build", log)
            _pip(python, "install", "--no-deps", "--force-reinstall", str(wheel), log=log)
        if stamp.get("configuration") != CONFIGURATION:
            _configure(prefix)
    else:
        return SharedEnv(prefix)
    shutil.rmtree(root / "wheel-build", ignore_errors=True)
    _readable(prefix)
    seconds = round(time.monotonic() - started, 1)
    history = (stamp or {}).get("history", [])[-9:] + [{"code": code, "seconds": seconds, "cold": stamp is None}]
    stamp = {"code": code, "configuration": CONFIGURATION, "history": history}
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
    stamp_path.chmod(0o644)
    return SharedEnv(prefix, seconds)


@dataclass(frozen=True)
class InstructorEnv:
    """The instructor's private checkout and environment (only their uid can read either)."""

    user: User
    checkout: Path
    venv: Path
    shared: SharedEnv

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def path(self) -> list[str]:
        """The instructor's PATH: their venv first (its python has the checkout), then the shared env's tools."""
        return [str(self.venv / "bin"), *self.shared.path()]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The instructor's login environment: their PATH, and JUPYTER_PATH naming the shared env's data files.

        The venv's own ``share/jupyter`` is empty: without JUPYTER_PATH nbconvert finds none of its
        templates ("No template sub-directory with name 'classic'") and no feedback is written.
        """
        return self.user.env(self.path(), {"JUPYTER_PATH": str(self.shared.prefix / "share" / "jupyter"),
                                           **(extra or {})})

    def run(self, *argv: str | os.PathLike[str], cwd: Path | None = None, check: bool = True,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as the instructor with their environment (``python`` is their venv's)."""
        return run_as(self.user, argv, cwd=cwd, env=self.env(), check=check, timeout=timeout)

    def python_m(self, module: str, *args: str | os.PathLike[str], cwd: Path | None = None, check: bool = True,
                 timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``python -m module args`` as the instructor (e.g. ``python_m("autograder", "grade", ...)``)."""
        return self.run(self.python, "-m", module, *args, cwd=cwd, check=check, timeout=timeout)


def instructor_env(user: User, shared: SharedEnv, repo: Path = REPO, name: str = "resnet-course") -> InstructorEnv:
    """A private checkout in ``~/name`` and a venv ``~/.venvs/resnet`` layered on ``shared``, all owned by ``user``.

    The venv is made without pip (the shared env's pip and setuptools serve it) and gets a
    ``shared-env.pth`` naming the shared site-packages: a venv made by a venv's Python with
    ``--system-site-packages`` would layer on Debian's /usr/lib/python3/dist-packages instead.
    """
    checkout = user.home / name
    copy_repo(checkout, repo)
    subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(checkout)], check=True, timeout=120)
    venv = user.home / ".venvs" / "resnet"
    run_as(user, [str(shared.python), "-m", "venv", "--without-pip", str(venv)], timeout=300)
    (site,) = venv.glob("lib/python3*/site-packages")
    run_as(user, ["/bin/sh", "-c", 'cat > "$1"', "sh", str(site / "shared-env.pth")],
           input=f"{shared.site_packages}\n", timeout=60)
    env = InstructorEnv(user, checkout, venv, shared)
    # strict: a link tree of the package on sys.path, ahead of the shared site-packages (the default
    # "lenient" finder comes after them and would lose to the wheel's copy of the package).
    run_as(user, [str(env.python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                  "--config-settings", "editable_mode=strict", "-e", str(checkout)],
           env=env.env({"PIP_DISABLE_PIP_VERSION_CHECK": "1"}), timeout=600)
    return env


def enable_instructor_extensions(instructor: InstructorEnv) -> None:
    """Turn formgrader, Create Assignment and the course list back on for the instructor only (user level).

    The JupyterLab plugins with ``jupyter labextension enable --level=user``; the server extensions
    by writing ``~/.jupyter/jupyter_server_config.json``: ``jupyter server extension enable --user``
    (jupyter_server 2) refuses an extension that is not listed in the user's own config folder
    ("The module ... could not be found") and writes nothing.
    """
    jupyter = str(instructor.shared.bin / "jupyter")
    instructor.run(jupyter, "labextension", "enable", "--level=user", *INSTRUCTOR_LAB)
    config = instructor.user.home / ".jupyter" / "jupyter_server_config.json"
    settings = json.loads(config.read_text()) if config.is_file() else {}
    settings.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {}).update(
        dict.fromkeys(INSTRUCTOR_SERVER, True))
    instructor.run("mkdir", "-p", config.parent)
    write_as(instructor.user, config, json.dumps(settings, indent=2) + "\n")


if __name__ == "__main__":  # python -m support.shared_env (from tests/): build or update the cache, say how long
    with locked():
        built = shared_env()
    print(built.prefix, f"{built.built_seconds} s", file=sys.stderr)
