"""Where grading tasks run: a Dask ``LocalCluster`` on this machine, or an existing Dask cluster.

``--jobs N`` starts N single-threaded worker processes here (no set-up); ``--scheduler
tls://HOST:PORT`` uses the workers of a running cluster (``dask worker tls://HOST:PORT`` on any
machine with the project and bubblewrap installed). Before any work is sent, every worker is
asked which code it runs and whether it can sandbox; one that differs is refused.
A worker that dies mid-task is Dask's to handle: the scheduler gives the task to another
worker, up to ``allowed-failures`` times (then the submission is recorded with 0 and why).

Nobody else may enter the cluster: whoever can talk to a Dask scheduler or worker runs code as
its owner, and on a shared machine the other users are the students. The local cluster speaks
TLS with mutual authentication: a certificate authority and certificates made for this run, held
in the memory of the grader's processes only (``Security.temporary``), so a connection without
them is refused. Dask also starts an HTTP server in the scheduler and in every worker
(``/json``, ``/metrics``, ``/info``, open to every local user): they serve no route here and are
closed once the cluster is up (the dashboard only with ``--dashboard``). A remote cluster must
be reached over ``tls://`` with the certificates its administrator made (README).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import dask
from distributed import Client, LocalCluster, WorkerPlugin
from distributed.security import Security

from autograder.course import CourseError
from autograder.grader.version import fingerprint

ALLOWED_FAILURES = 3  # deaths of a worker while grading one submission before it is recorded with 0


@dataclass(frozen=True)
class RemoteCluster:
    """A running Dask cluster: its scheduler's ``tls://`` address and this grader's certificates for it."""

    address: str
    ca_file: str
    cert: str
    key: str

    def security(self) -> Security:
        return Security(tls_ca_file=self.ca_file, tls_client_cert=self.cert, tls_client_key=self.key,
                        require_encryption=True)


def check_scheduler_address(address: str) -> str:
    """Only ``tls://`` addresses: over plain TCP anyone who reaches the scheduler runs code on every worker."""
    if not address.startswith("tls://"):
        raise CourseError("scheduler_not_tls", address=address)
    return address


class _NoHttp(WorkerPlugin):
    """Close a worker's HTTP server (also one restarted by its nanny): it has nothing to serve here."""

    name = "autograder-no-http"

    def setup(self, worker) -> None:  # noqa: ANN001 - Dask's signature
        _close_http(worker)


def _close_http(server: object) -> None:
    http = getattr(server, "http_server", None)
    if http is not None:
        http.stop()


def _close_scheduler_http(dask_scheduler: object) -> None:
    _close_http(dask_scheduler)


NO_ROUTES = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


@contextlib.contextmanager
def client_for(jobs: int, remote: RemoteCluster | None, scratch: str, show_dashboard: bool = False) -> Iterator[Client]:
    """A Dask client: connected to the ``remote`` cluster, or to a new local cluster of ``jobs`` workers."""
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.worker.daemon": False,  # a worker starts nbgrader processes
                          "distributed.admin.tick.limit": "30s"}):
        if remote:
            try:
                client = Client(check_scheduler_address(remote.address), security=remote.security(), timeout="20s")
            except OSError as error:
                raise CourseError("scheduler_unreachable", address=remote.address, error=error) from None
            with client:
                yield client
            return
        dashboard = show_dashboard and importlib.util.find_spec("bokeh") is not None
        # The scheduler's HTTP server starts in any case: on a free port, not Dask's usual 8787.
        with dask.config.set({} if show_dashboard else NO_ROUTES), \
                LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, memory_limit=0,
                             host="127.0.0.1", dashboard_address="127.0.0.1:0",
                             scheduler_kwargs={"dashboard": dashboard}, local_directory=scratch,
                             security=Security.temporary(), silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            if not show_dashboard:
                client.register_plugin(_NoHttp())
                client.run_on_scheduler(_close_scheduler_http)
            yield client


def dashboard(client: Client) -> str | None:
    """The dashboard's address, when the cluster serves one."""
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # noqa: BLE001 - no dashboard is not an error
        return None
    return client.dashboard_link if "dashboard" in services else None


def run_sandbox_check() -> str:
    """Run on each worker: whether it can sandbox (bwrap's version, or why not)."""
    from autograder.grader.sandbox import SandboxUnavailable, check

    try:
        return check()
    except SandboxUnavailable as error:
        return f"unavailable: {error}"


def worker_identity() -> dict[str, str]:
    """Run on each worker: the code fingerprint and Python the main process compares before it sends work."""
    return {"fingerprint": fingerprint(), "python": sys.version.split()[0]}


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, a container's cpuset), which
    ``os.cpu_count()`` ignores; the kernels' share of them is what ``--jobs`` splits."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on this system
        return os.cpu_count() or 1


def check_workers(client: Client, sandbox: bool, wait_for: int = 1) -> dict[str, int]:
    """Refuse workers that run other code or cannot sandbox; return each worker's kernel threads."""
    client.wait_for_workers(wait_for, timeout=120)
    expected = fingerprint()
    for address, identity in client.run(worker_identity).items():
        if identity["fingerprint"] != expected:
            raise CourseError("worker_version", address=address, theirs=identity["fingerprint"], ours=expected)
    if sandbox:
        for address, answer in client.run(run_sandbox_check).items():
            if answer.startswith("unavailable"):
                raise CourseError("worker_sandbox", address=address, reason=answer.removeprefix("unavailable: "))
    # Kernels on one machine share its cores instead of each starting a thread per core.
    cores = client.run(usable_cores)
    hosts: dict[str, int] = {}
    for address in cores:
        host = address.rsplit(":", 1)[0]
        hosts[host] = hosts.get(host, 0) + 1
    return {address: max(1, (count or 1) // hosts[address.rsplit(":", 1)[0]]) for address, count in cores.items()}
