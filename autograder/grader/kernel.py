"""A Jupyter kernel manager whose kernels run in the grading sandbox (``autograder.grader.sandbox``).

The kernel talks to nbgrader over unix sockets in a folder of its own (ZeroMQ's ``ipc``
transport), since its network namespace has no route to the grader's loopback. When the kernel
is gone, every process left in its PID namespace is killed before the manager reports it
gone: nbgrader then writes into the folder the kernel used, and nothing may still be there
to change it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, List, Type, Unicode

from autograder.grader.sandbox import children, launcher_command
from autograder.learner.checks import hidden


class PromptKernelClient(AsyncKernelClient):
    """A client whose ``wait_for_ready`` returns as soon as the kernel has answered on both channels.

    jupyter_client's then waits until IOPub has been quiet for 0.2 s, to drop what came before; nbclient and
    :mod:`spare_kernel` read only the messages that answer their own requests, so that wait bought nothing
    and cost 0.2 s twice per submission (the seed given to a waiting kernel, nbgrader's connection to it).
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once something comes on it (the kernel's "busy" for this request)
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    wait_for_ready = _async_wait_for_ready


class SandboxedKernelManager(AsyncKernelManager):
    writable = List(Unicode(), help="Folders besides the working directory the kernel may write").tag(config=True)
    client_class = DottedObjectName("autograder.grader.kernel.PromptKernelClient")
    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # A short folder (a unix socket's path has at most 108 bytes): the job's own, else the temporary folder.
        self._ipc_dir = tempfile.mkdtemp(prefix="kernel-ipc-", dir=os.environ.get("AUTOGRADER_IPC_ROOT"))
        self.transport = "ipc"
        self.ip = os.path.join(self._ipc_dir, "k")
        self.connection_file = os.path.join(self._ipc_dir, "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        writable = [self._ipc_dir, *self.writable]
        if os.environ.get(hidden.RECORD_ENV):  # where the hidden tests save what they recorded
            writable.append(os.environ[hidden.RECORD_ENV])
        return launcher_command(command, writable)

    async def _async_post_start_kernel(self, **kwargs: Any) -> None:
        await super()._async_post_start_kernel(**kwargs)
        self._namespace = await _sandbox_namespace(self.provisioner.process.pid)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        await _kill_namespace(getattr(self, "_namespace", None))
        if not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)


def _pid_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _is_zombie(pid: str) -> bool:
    """Exited, waiting to be reaped (bwrap's init is reaped by the system's init, up to ~2 s later): harmless."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


async def _sandbox_namespace(pid: int, timeout: float = 10) -> str | None:
    """The PID namespace bwrap (``pid``) made for the kernel: the first process below it in another one."""
    own = _pid_namespace("self")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children(pid):
            namespace = _pid_namespace(child)
            if namespace and namespace != own:
                return namespace
        await asyncio.sleep(0.02)
    return None


async def _kill_namespace(namespace: str | None, timeout: float = 10) -> None:
    """SIGKILL every process in ``namespace`` until none is left (bwrap's own teardown, made certain)."""
    if not namespace:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [entry for entry in os.listdir("/proc")
                if entry.isdigit() and _pid_namespace(entry) == namespace and not _is_zombie(entry)]
        if not left:
            return
        for pid in left:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        await asyncio.sleep(0.02)
