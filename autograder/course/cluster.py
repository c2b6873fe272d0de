"""Where grading tasks run: a Dask ``LocalCluster`` on this machine, or an existing Dask cluster.

``--jobs N`` starts N single-threaded worker processes here (no set-up); ``--scheduler
tcp://HOST:PORT`` uses the workers of a running cluster (``dask worker tcp://HOST:PORT`` on any
machine with the project and bubblewrap installed). Before any work is sent, every worker is
asked which code it runs and whether it can sandbox; one that differs is refused.
A worker that dies mid-task is Dask's to handle: the scheduler gives the task to another
worker, up to ``allowed-failures`` times (then the submission is recorded with 0 and why).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator

import dask
from distributed import Client, LocalCluster

from autograder.course import CourseError
from autograder.course.task import run_sandbox_check, worker_identity
from autograder.course.version import fingerprint

ALLOWED_FAILURES = 3  # deaths of a worker while grading one submission before it is recorded with 0


@contextlib.contextmanager
def client_for(jobs: int, scheduler: str | None, scratch: str) -> Iterator[Client]:
    """A Dask client: connected to ``scheduler``, or to a new local cluster of ``jobs`` workers."""
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.worker.daemon": False,  # a worker starts nbgrader processes
                          "distributed.admin.tick.limit": "30s"}):
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as error:
                raise CourseError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
            with client:
                yield client
            return
        dashboard = ":0" if importlib.util.find_spec("bokeh") else None
        with LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, memory_limit=0,
                          host="127.0.0.1", dashboard_address=dashboard, local_directory=scratch,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client


def dashboard(client: Client) -> str | None:
    """The dashboard's address, when the cluster serves one."""
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # noqa: BLE001 - no dashboard is not an error
        return None
    return client.dashboard_link if "dashboard" in services else None


def check_workers(client: Client, sandbox: bool, wait_for: int = 1) -> dict[str, int]:
    """Refuse workers that run other code or cannot sandbox; return each worker's kernel threads."""
    client.wait_for_workers(wait_for, timeout=120)
    expected = fingerprint()
    for address, identity in client.run(worker_identity).items():
        if identity["fingerprint"] != expected:
            raise CourseError(f"Dask worker {address} runs autograder {identity['fingerprint']}, this grader "
                              f"{expected}: install the same version of the project on every worker")
    if sandbox:
        for address, answer in client.run(run_sandbox_check).items():
            if answer.startswith("unavailable"):
                raise CourseError(f"Dask worker {address}: {answer.removeprefix('unavailable: ')}")
    # Kernels on one machine share its cores instead of each starting a thread per core.
    cores = client.run(os.cpu_count)
    hosts: dict[str, int] = {}
    for address in cores:
        host = address.rsplit(":", 1)[0]
        hosts[host] = hosts.get(host, 0) + 1
    return {address: max(1, (count or 1) // hosts[address.rsplit(":", 1)[0]]) for address, count in cores.items()}
