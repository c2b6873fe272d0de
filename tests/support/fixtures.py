"""Pytest fixtures for tests with real Unix users, the shared environment and a JupyterHub.

Registered for every test module by ``tests/conftest.py`` (``pytest_plugins = ["support.fixtures"]``).
Each skips its test unless the session runs as root.

* ``shared_env`` (session) — :class:`support.shared_env.SharedEnv`, built or taken from the cache;
  the session holds the cache's lock, so concurrent runs wait instead of colliding.
* ``unix_users`` (module) — a :class:`support.unix_users.Users`: ``unix_users.add("alice")`` makes
  ``alice-<suffix>`` (password, private home); every user made is deleted after the module, their
  processes killed first.
* ``shared_dir`` (module) — a new folder under /tmp that every user can traverse (0755), for an
  exchange or other shared files; removed after the module, whoever owns what is in it.
* ``start_hub`` (module) — ``start_hub(users, environment=None, services=None)`` starts a JupyterHub for those
  users (:func:`support.jupyterhub.running_hub`) and returns its :class:`support.jupyterhub.Hub`;
  every hub started is stopped after the module, before its users are deleted.

Building blocks beyond fixtures: ``support.unix_users.run_as`` / ``popen_as`` / ``write_as``,
``support.shared_env.instructor_env``, ``support.browser`` (Chromium, hub login, nbgrader's panel).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from .jupyterhub import Hub, running_hub
from .shared_env import SharedEnv, locked
from .shared_env import shared_env as build_shared_env
from .unix_users import User, Users, require_root


@pytest.fixture(scope="session")
def shared_env() -> Iterator[SharedEnv]:
    """The hub's shared Python environment (cached in /opt/resnet-course-tests; cold build ~4 min)."""
    require_root()
    with locked():
        env = build_shared_env()
        if env.built_seconds:
            print(f"\nshared environment {env.prefix}: built or updated in {env.built_seconds} s")
        yield env


@pytest.fixture(scope="module")
def unix_users() -> Iterator[Users]:
    """This module's Unix users (``add(role)``); all deleted afterwards, their processes killed first."""
    require_root()
    users = Users()
    try:
        yield users
    finally:
        users.close()


@pytest.fixture(scope="module")
def shared_dir() -> Iterator[Path]:
    """A fresh 0755 folder under /tmp every user can traverse; removed afterwards."""
    require_root()
    folder = Path(tempfile.mkdtemp(prefix="resnet-shared-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def start_hub(shared_env: SharedEnv, unix_users: Users, shared_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Hub]]:
    """``start_hub(users, environment=None, services=None) -> Hub``: a running JupyterHub; all stopped afterwards."""
    with contextlib.ExitStack() as stack:
        def start(users: Iterable[User], environment: dict[str, str] | None = None,
                  services: list[dict] | None = None) -> Hub:
            state = tmp_path_factory.mktemp("jupyterhub")
            return stack.enter_context(running_hub(shared_env, list(users), state, environment=environment,
                                                   services=services))

        yield start
