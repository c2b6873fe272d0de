"""nbgrader preprocessors the course adds to autograding.

``RobustExecute`` is nbgrader's ``Execute`` that survives a dying kernel: the cells run
before the death keep their outputs (and so their grades), the cell that was running gets
an error saying why the kernel died, and every later grade cell gets an error too — an
unexecuted grade cell would otherwise count as passed. A watchdog kills a kernel that uses
more memory than ``memory_limit`` before the machine's own out-of-memory killer picks a victim,
and notes the kernel's peak resident memory for the grading report.

``LimitOutputSize`` cuts outputs that are too long by characters (nbgrader's ``LimitOutput``
counts lines, so one enormous line slips through).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from autograder.course.sandbox import children
from autograder.i18n import message


def _kib_field(path: str, field: str) -> int | None:
    """A "Field:  N kB" line of a /proc file, in bytes (None when unreadable or absent)."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (a sandboxed kernel runs a few levels under bwrap)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children(current))
    return found


def _pss_bytes(pid: int) -> int:
    """Proportional set size: resident memory with each shared page split among its sharers.

    Summed over a kernel and the processes it forked, PSS counts a page once; RSS would count
    the pages a fork shares with its parent once per process and kill an honest kernel.
    Kernels without smaps_rollup (before Linux 4.14) fall back to RSS.
    """
    pss = _kib_field(f"/proc/{pid}/smaps_rollup", "Pss")
    return pss if pss is not None else _kib_field(f"/proc/{pid}/status", "VmRSS") or 0


def _tree_memory_bytes(pid: int) -> int:
    return sum(_pss_bytes(member) for member in _descendants(pid))


def remove_links(folder: str) -> list[str]:
    """Delete everything in ``folder`` that is not a plain file or folder (links, pipes, sockets).

    The kernel could leave a link named like the notebook nbgrader is about to write, pointing
    at the grader's files; nbgrader runs outside the sandbox and would write through it.
    """
    removed = []
    for base, dirs, files in os.walk(folder):  # os.walk does not descend into linked folders
        for name in dirs + files:
            path = os.path.join(base, name)
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                os.unlink(path)
                removed.append(os.path.relpath(path, folder))
    return removed


def _error(name: str, text: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=text, traceback=[f"\x1b[0;31m{name}\x1b[0m: {text}"])


class RobustExecute(Execute):
    memory_limit = Integer(0, help="Kill the kernel above this many bytes of resident memory (0: no limit)").tag(
        config=True)
    language = Unicode("en", help="Language of the messages added to cells").tag(config=True)
    sandbox = Bool(False, help="Run the kernel in the bubblewrap sandbox (autograder.course.sandbox)").tag(
        config=True)
    stats_file = Unicode("", help="Where to write the kernel's peak memory (JSON), outside the sandbox").tag(
        config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self.sandbox:
            from autograder.course.kernel import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager
        self._running_index = -1
        self._memory_killed = False
        self._watchdog = None
        self.peak_rss = 0
        self._watchdog_stop = threading.Event()
        try:
            return super().preprocess(nb, resources, *args, **kwargs)
        except DeadKernelError:
            self._record_death(nb)
            return nb, resources
        finally:
            self._watchdog_stop.set()
            self._save_peak_memory()
            folder = (resources or {}).get("metadata", {}).get("path")
            if self.sandbox and folder:  # the kernel and all it started are gone: clean what it left
                for name in remove_links(folder):
                    self.log.warning("Removed %s left by the kernel (not a plain file)", name)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        self._running_index = index
        if not getattr(self, "_watchdog", None):
            self._start_watchdog()
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._death_reason = self._reason()  # read the exit status before the kernel is cleaned up
            raise

    def _save_peak_memory(self) -> None:
        """Leave the kernel's peak resident memory for the grading statistics (never where the kernel writes)."""
        if self.stats_file:
            with open(self.stats_file, "w", encoding="utf-8") as file:
                json.dump({"peak_rss_bytes": self.peak_rss}, file)

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def _start_watchdog(self) -> None:
        pid = self._kernel_pid()
        if pid is None:
            return

        def watch() -> None:
            while not self._watchdog_stop.wait(0.2):
                rss = _tree_memory_bytes(pid)
                self.peak_rss = max(self.peak_rss, rss)
                if self.memory_limit and rss > self.memory_limit:
                    self._memory_killed = True
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                    return

        self._watchdog = threading.Thread(target=watch, daemon=True)
        self._watchdog.start()

    def _reason(self) -> str:
        if self._memory_killed:
            return message("kernel_memory", self.language, limit=self.memory_limit / 2**30)
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if process is not None and code is None:
            try:
                code = process.wait(timeout=2)
            except Exception:  # noqa: BLE001 - a process that will not say how it ended
                code = None
        if code is not None and code < 0:
            return message("kernel_signal", self.language, signal=signal.Signals(-code).name)
        if self.sandbox and code is not None and 128 < code < 128 + signal.NSIG:  # bwrap: 128 + the signal
            return message("kernel_signal", self.language, signal=signal.Signals(code - 128).name)
        return message("kernel_exit", self.language, code=code if code is not None else "?")

    def _record_death(self, nb: NotebookNode) -> None:
        died = message("kernel_died", self.language, reason=getattr(self, "_death_reason", None) or self._reason())
        self.log.warning("Kernel died in cell %d: %s", self._running_index, died)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index < self._running_index:
                continue
            if index == self._running_index:
                cell.outputs.append(_error("KernelDied", died))
            elif cell.metadata.get("nbgrader", {}).get("grade"):
                cell.outputs = [_error("NotRun", message("not_run_after_death", self.language))]
        nb.metadata.setdefault("autograder", {})["kernel_died"] = {"cell": self._running_index, "reason": died}


class LimitOutputSize(NbGraderPreprocessor):
    max_chars = Integer(20_000, help="Characters kept of each output").tag(config=True)
    language = Unicode("en").tag(config=True)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        note = message("output_truncated", self.language, total=len(text), kept=self.max_chars)
        return text[: self.max_chars] + "\n" + note + "\n"

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "stream":
                    output.text = self._cut(output.text)
                elif output.output_type in ("execute_result", "display_data"):
                    data = output.get("data", {})
                    for mime in ("text/plain", "text/html"):
                        if isinstance(data.get(mime), str):
                            data[mime] = self._cut(data[mime])
                elif output.output_type == "error":
                    output.evalue = self._cut(output.evalue)
        return cell, resources
