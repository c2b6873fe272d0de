"""A real JupyterHub for tests: PAM logins of real Unix users, LocalProcessSpawner, configurable-http-proxy.

:func:`running_hub` starts ``jupyterhub`` from the shared environment as root, every port on
127.0.0.1 (the public proxy port, the proxy's API, the hub), JupyterHub's default
PAMAuthenticator (the users' real passwords; only the users named may log in) and
LocalProcessSpawner, which starts each user's ``jupyterhub-singleuser`` from the shared
environment as that user, in their home, JupyterLab by default. Its state (database, cookie
secret, proxy pid file, config, log) lives in a root-only folder. On exit the hub is stopped
(SIGTERM: it stops the users' servers and the proxy), then anything left of it is killed by pid.

The :class:`Hub` it yields has the public URL, a log, and an admin API token of a service
``tests`` for :meth:`Hub.api` (start or stop a user's server, make a user's API token without a
browser — for tests that act as a student from a script).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .shared_env import SharedEnv
from .unix_users import User

CHP = "configurable-http-proxy"  # npm install -g configurable-http-proxy (.ci/run)

CONFIG = """\
# JupyterHub for the course's tests (support/jupyterhub.py); everything on 127.0.0.1.
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = {bind_url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = {proxy_api!r}
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = {proxy_pid!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Real Unix accounts and passwords (JupyterHub's default PAMAuthenticator); only these users may log in.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {allowed!r}
c.Authenticator.admin_users = set()
c.PAMAuthenticator.open_sessions = False

# Each user's server: jupyterhub-singleuser from the shared environment, run as that user in their home.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 240
c.Spawner.http_timeout = 240
c.Spawner.environment = {environment!r}

# The tests' own admin token (start and stop servers, make user tokens without a browser).
c.JupyterHub.services = [{{"name": "tests", "api_token": {service_token!r}}}, *{services!r}]
c.JupyterHub.load_roles = [{{"name": "tests", "services": ["tests"],
                            "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"]}}]
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proxy_command() -> str:
    """The path of configurable-http-proxy; AssertionError saying how to install it when it is missing."""
    found = shutil.which(CHP, path=os.environ.get("PATH", "") + ":/usr/local/bin:/usr/bin")
    assert found, f"{CHP} is missing: npm install -g {CHP} (.ci/run installs it)"
    return found


@dataclass
class Hub:
    """A running JupyterHub: ``url`` (the proxy, what a browser opens), its state folder and log."""

    url: str
    state: Path
    log: Path
    token: str  # the ``tests`` service's admin API token
    process: subprocess.Popen

    def user_url(self, name: str, path: str = "") -> str:
        """``<hub>/user/<name>/<path>``: a user's server behind the proxy."""
        return f"{self.url}/user/{name}/{path.lstrip('/')}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def api(self, method: str, path: str, body: object = None, token: str | None = None, timeout: float = 60) -> object:
        """The hub's REST API (``/hub/api/<path>``) with the admin token (or ``token``); the JSON answer or None."""
        request = urllib.request.Request(f"{self.url}/hub/api/{path.lstrip('/')}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {token or self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            data = answer.read()
        return json.loads(data) if data else None

    def start_server(self, name: str, timeout: float = 240) -> None:
        """Start ``name``'s single-user server (as a login would) and wait until it answers."""
        with contextlib.suppress(urllib.error.HTTPError):  # 400: it is already running
            self.api("POST", f"users/{name}/server")
        deadline = time.monotonic() + timeout
        while not self.api("GET", f"users/{name}")["servers"].get("", {}).get("ready"):
            assert self.process.poll() is None, f"the hub exited:\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"{name}'s server did not start in {timeout} s:\n{self.log_tail()}"
            time.sleep(1)

    def stop_server(self, name: str, timeout: float = 120) -> None:
        """Stop ``name``'s single-user server and wait until the hub says it is gone."""
        with contextlib.suppress(urllib.error.HTTPError):
            self.api("DELETE", f"users/{name}/server")
        deadline = time.monotonic() + timeout
        while self.api("GET", f"users/{name}")["servers"]:
            assert time.monotonic() < deadline, f"{name}'s server did not stop in {timeout} s:\n{self.log_tail()}"
            time.sleep(0.5)

    def user_token(self, name: str) -> str:
        """A new API token of ``name`` (for their server's REST API: ``Authorization: token …``)."""
        return self.api("POST", f"users/{name}/tokens", {"note": "tests", "expires_in": 3600})["token"]


def _stop(process: subprocess.Popen, state: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the hub stops the users' servers and the proxy itself
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # The proxy, if the hub could not stop it (killed, crashed): its pid file, checked against its command line.
    pid_file = state / "jupyterhub-proxy.pid"
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        if CHP in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_hub(shared: SharedEnv, users: Iterable[User], state: Path, timeout: float = 180,
                environment: dict[str, str] | None = None, services: list[dict] | None = None) -> Iterator[Hub]:
    """JupyterHub for ``users`` (their passwords log in), its state in ``state`` (made 0700); stopped on exit.

    ``environment``: extra variables for every user's server (``Spawner.environment``).
    ``services``: more entries of ``JupyterHub.services`` (e.g. a managed service run as a user:
    ``{"name": …, "command": […], "user": …}``); the hub starts them, restarts them when they exit
    and stops them with itself.
    """
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    port, hub_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(32)
    config = state / "jupyterhub_config.py"
    config.write_text(CONFIG.format(
        bind_url=f"http://127.0.0.1:{port}", hub_port=hub_port, proxy_api=f"http://127.0.0.1:{api_port}",
        chp=proxy_command(), proxy_pid=str(state / "jupyterhub-proxy.pid"), db_url=f"sqlite:///{state}/hub.sqlite",
        cookie_secret=str(state / "cookie_secret"), allowed={user.name for user in users},
        singleuser=str(shared.bin / "jupyterhub-singleuser"), environment=dict(environment or {}),
        service_token=token, services=list(services or [])), encoding="utf-8")
    # What every spawned server inherits (LocalProcessSpawner keeps PATH and LANG): the shared env, not root's.
    env = {"PATH": ":".join([*shared.path(), "/usr/local/bin", "/usr/bin", "/bin"]), "LANG": "C.UTF-8",
           "HOME": str(state)}
    log = state / "jupyterhub.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen([str(shared.bin / "jupyterhub"), "-f", str(config)], cwd=state, env=env,
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", state, log, token, process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"jupyterhub exited ({process.returncode}):\n{hub.log_tail()}"
            assert time.monotonic() < deadline, f"jupyterhub did not answer in {timeout} s:\n{hub.log_tail()}"
            try:
                hub.api("GET", "", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        yield hub
    finally:
        _stop(process, state)
