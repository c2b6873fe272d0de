"""The next submission's sandboxed kernel, started and TensorFlow imported before the submission arrives.

A kernel's start (the sandbox, ipykernel) and the lesson's imports cost ~6 s of every submission, the
same for all of them (``benchmarks/README.md``). The job server (``autograder.grader.job_server``)
therefore forks the next job's process while the current one runs; that process makes its bounded
disk and starts a kernel in the sandbox there (:func:`start_spare`), in a folder of its own, which
imports TensorFlow and the lesson's other libraries — site-packages only, none of the lesson's or the
learner's code — and waits. When the submission comes, nbgrader copies it and the lesson's files into
its graded folder as always; that folder *is* the waiting kernel's (the kernel's folder is renamed to it
before nbgrader's first copy, :func:`adopt_folder`; the sandbox's bind mount follows the folder, not its
name), its files are handed to the kernel's uid, and ``RobustExecute`` runs the notebook in that kernel
(:func:`take_spare`). Still one fresh kernel per submission, in the same sandbox, with the same limits:
it has only ever run the grader's imports, and it dies after the submission's last cell.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.learner.checks.hidden import SEED_ENV

FOLDER_NAME = "kernel-folder"  # in the job's work folder, until nbgrader's graded folder takes its place
KERNEL_NAME = "python3"
# The libraries the lessons' first cell imports, and TensorFlow's device listing (quiet_tensorflow_start):
# fd 2 to /dev/null meanwhile (TensorFlow's C++ start-up lines), nothing left in the learner's namespace.
PREIMPORT = """\
def _autograder_preimport():
    import os
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import h5py, numpy, matplotlib.pyplot, tensorflow, keras  # noqa
        tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
_autograder_preimport()
del _autograder_preimport
"""
READY_TIMEOUT = 120


@dataclass
class SpareKernel:
    """A started, waiting kernel and the folder it runs in."""

    km: Any  # autograder.grader.kernel.SandboxedKernelManager
    folder: Path
    identity: tuple[int, int]  # (st_dev, st_ino) of its folder: what nbgrader's graded folder must be


_spare: SpareKernel | None = None


def _run(coroutine_function: Any, *args: Any, **kwargs: Any) -> Any:
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)(*args, **kwargs)


async def _execute(km: Any, code: str, timeout: float) -> bool:
    """Run ``code`` silently in the kernel; whether it finished without an error."""
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=timeout)
        msg_id = client.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = await client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply["content"].get("status") == "ok"
        return False
    finally:
        client.stop_channels()


def start_spare(work: Path) -> SpareKernel:
    """Start a sandboxed kernel in ``work/kernel-folder`` and import the lessons' libraries in it.

    Call with the job's environment set (``autograde_job.job_environment``); the kernel sees what nbgrader's
    would (``NBGRADER_EXECUTION``, set by nbgrader only while it executes) but not yet the hidden tests' seed.
    """
    from autograder.grader.kernel import SandboxedKernelManager

    global _spare
    folder = work / FOLDER_NAME
    folder.mkdir(mode=0o700)
    km = SandboxedKernelManager(kernel_name=KERNEL_NAME)
    saved = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        _run(km.start_kernel, cwd=str(folder), extra_arguments=["--HistoryManager.hist_file=:memory:"])
    finally:
        if saved is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = saved
    preimported = False
    try:
        preimported = _run(_execute, km, PREIMPORT, READY_TIMEOUT)
    except Exception:  # noqa: BLE001 - a kernel that cannot import is the submission's to find out, fresh
        discard(SpareKernel(km, folder, (0, 0)))
        raise
    if not preimported:
        print("[job_server] the kernel started ahead could not import TensorFlow; it waits without", flush=True)
    status = folder.stat()
    _spare = SpareKernel(km, folder, (status.st_dev, status.st_ino))
    return _spare


def give_seed(seed: int) -> bool:
    """Tell the waiting kernel the hidden tests' seed (known only with the submission); False if it cannot be."""
    if _spare is None:
        return False
    code = f"import os as _o\n_o.environ[{SEED_ENV!r}] = {str(int(seed))!r}\ndel _o\n"
    why = "it did not take the hidden tests' seed"
    try:
        if _run(_spare.km.is_alive) and _run(_execute, _spare.km, code, 30):
            return True
    except Exception as error:  # noqa: BLE001 - the submission then gets a kernel started the usual way
        why += f" ({type(error).__name__}: {error})"
    discard(why=why)
    return False


def adopt_folder(assignment: str = "", student: str = "", **_: Any) -> None:
    """nbgrader's ``pre_convert_hook``: the waiting kernel's folder becomes the submission's graded folder.

    nbgrader calls it after it has found that folder absent and before it copies anything into it.
    """
    if _spare is None or not assignment or not student:
        return
    graded = Path.cwd() / "autograded" / student / assignment
    try:
        graded.parent.mkdir(parents=True, exist_ok=True)
        os.rename(_spare.folder, graded)  # fails if nbgrader made the folder already: then no spare
        _spare.folder = graded
    except OSError as error:
        discard(why=f"its folder could not become the graded folder ({error})")


def take_spare(folder: str, kernel_name: str) -> Any | None:
    """The waiting kernel's manager if it runs in ``folder`` (nbgrader's graded folder) and is the notebook's
    kind, its files handed to the kernel's uid; None otherwise (the waiting kernel is then stopped)."""
    global _spare
    spare, _spare = _spare, None
    if spare is None:
        return None
    try:
        status = os.stat(folder)
        why = ("it runs in another folder" if (status.st_dev, status.st_ino) != spare.identity
               else f"the notebook asks for the kernel {kernel_name!r}" if kernel_name not in ("", KERNEL_NAME)
               else "" if _run(spare.km.is_alive) else "it has died")
    except OSError as error:
        why = str(error)
    if why:
        discard(spare, why)
        return None
    if os.geteuid() == 0:  # the launcher handed the (then empty) folder over; nbgrader's copies since are root's
        from autograder.grader.sandbox import UID_BASE, hand_over

        hand_over(folder, UID_BASE + spare.km.provisioner.process.pid)
    return spare.km


def discard(spare: SpareKernel | None = None, why: str = "") -> None:
    """Stop a kernel that will not be used (and the whole sandbox it runs in); ``why`` goes to the job's log."""
    global _spare
    if spare is None:
        spare, _spare = _spare, None
    if spare is None:
        return
    if why:
        print(f"[job_server] the kernel started ahead is not used: {why}", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        _run(spare.km.shutdown_kernel, now=True)


def waiting() -> bool:
    """Whether a kernel waits for this process's submission."""
    return _spare is not None
