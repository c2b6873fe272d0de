"""nbgrader preprocessors the course adds to autograding.

``RobustExecute`` is nbgrader's ``Execute`` that survives a dying kernel: the cells run
before the death keep their outputs (and so their grades), the cell that was running gets
an error saying why the kernel died, and every later grade cell gets an error too — an
unexecuted grade cell would otherwise count as passed. A watchdog kills a kernel that uses
more memory than ``memory_limit`` before the machine's own out-of-memory killer picks a victim,
and notes the kernel's peak resident memory for the grading report.

``LimitOutputSize`` cuts outputs that are too long by characters (nbgrader's ``LimitOutput``
counts lines, so one enormous line slips through).

``SanitizeNotebook`` stores only inert content in the graded notebook (see
``autograder.grader.sanitize``): whoever opens it later, in whatever viewer, sees no learner script.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade
from traitlets import Bool, Integer, Unicode

from autograder.grader.sandbox import children
from autograder.learner.i18n import message


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
    time_limit = Integer(0, help="Kill the kernel this many seconds after the first cell started (0: no limit); "
                         "the cells run before keep their grades").tag(config=True)
    interrupt_grace = Integer(10, help="Seconds a cell gets to stop after the cell timeout's interrupt (nbclient's "
                              "iopub_timeout); a kernel that ignores the interrupt is killed then").tag(config=True)
    language = Unicode("en", help="Language of the messages added to cells").tag(config=True)
    sandbox = Bool(False, help="Run the kernel in the bubblewrap sandbox (autograder.grader.sandbox)").tag(
        config=True)
    report_file = Unicode("", help="Where to write what happened to the kernel (JSON: peak memory, its death, "
                          "files deleted), outside the sandbox").tag(config=True)
    keep_file_bytes = Integer(0, help="After the kernel: delete its files larger than this (they are never kept); "
                              "0: keep all").tag(config=True)
    keep_folder_bytes = Integer(0, help="... and its largest files beyond this many bytes in all").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self.sandbox:
            from autograder.grader.kernel import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager
        self._running_index = -1
        self._stopped: str | None = None  # why the grader killed the kernel: "memory", "time" or "interrupt"
        self._death: dict[str, Any] | None = None
        self._removed: list[str] = []
        self._trimmed = None
        self._watchdog = None
        self.peak_rss = 0
        self._watchdog_stop = threading.Event()
        self._started = time.perf_counter()
        self._cell_seconds: list[float] = []  # each code cell's wall time, kernel start before the first
        self.kernel_was_waiting = False  # started before the submission came (spare_kernel)
        self.iopub_timeout = self.interrupt_grace  # after a cell's interrupt, the wait for it to stop (nbclient)
        # After the last cell the kernel is killed, not asked to exit: a TensorFlow kernel's own exit takes
        # ~1.5 s, and nothing it could still do then (atexit hooks, unflushed files) counts for its grade.
        self.shutdown_kernel = "immediate"
        try:
            return super().preprocess(nb, resources, *args, **kwargs)
        except DeadKernelError:
            self._record_death(nb)
            return nb, resources
        finally:
            self._watchdog_stop.set()
            if self.sandbox:  # a waiting kernel this notebook did not take (see create_kernel_manager)
                from autograder.grader.spare_kernel import discard

                discard()
            folder = (resources or {}).get("metadata", {}).get("path")
            if self.sandbox and folder:  # the kernel and all it started are gone: clean what it left
                self._removed = remove_links(folder)
                if self._removed:
                    self.log.warning("Removed %d links or special files left by the kernel (first: %s)",
                                     len(self._removed), ", ".join(self._removed[:3]))
            if self.keep_file_bytes and folder:  # room for nbgrader's notebook on the job's bounded disk
                from autograder.grader.folders import trim_folder
                from autograder.grader.limits import DEFAULT

                self._trimmed = trim_folder(Path(folder), DEFAULT.replace(
                    returned_file_bytes=self.keep_file_bytes, returned_bytes=self.keep_folder_bytes or None))
            self._write_report()

    def create_kernel_manager(self) -> Any:
        """The kernel the job server started for this submission ahead of time (``spare_kernel``), else a new one."""
        if self.sandbox:
            from autograder.grader.spare_kernel import take_spare

            folder = (self.resources or {}).get("metadata", {}).get("path") or ""
            kernel_name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name", "")
            spare = take_spare(folder, kernel_name) if folder else None
            if spare is not None:
                self.kernel_name = kernel_name
                self.km = spare
                self.kernel_was_waiting = True
                return spare
        return super().create_kernel_manager()

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        self._running_index = index
        if not getattr(self, "_watchdog", None):
            self._kernel_start_seconds = time.perf_counter() - self._started
            self._start_watchdog()
        cell_started = time.perf_counter()
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            # nbclient interrupted the cell at its timeout and waited interrupt_grace seconds for it to stop: a
            # kernel that ignores the interrupt (SIGINT handler replaced, C code) is killed, not waited on again.
            self._stop("interrupt")
            self._death_reason = self._reason()
            raise DeadKernelError("the kernel ignored the interrupt") from None
        except DeadKernelError:
            self._death_reason = self._reason()  # read the exit status before the kernel is cleaned up
            raise
        finally:
            if cell.cell_type == "code":
                self._cell_seconds.append(round(time.perf_counter() - cell_started, 2))

    def _write_report(self) -> None:
        """What happened to the kernel, for the grader (written outside the sandbox, never where the kernel writes)."""
        if self.report_file:
            with open(self.report_file, "w", encoding="utf-8") as file:
                trimmed = self._trimmed.left_out if self._trimmed else {}
                json.dump({"peak_rss_bytes": self.peak_rss, "death": self._death, "links_removed": len(self._removed),
                           "deleted": {kind: {"count": left.count, "examples": left.examples}
                                       for kind, left in trimmed.items()},
                           "kernel_start_seconds": round(getattr(self, "_kernel_start_seconds", 0.0), 2),
                           "execute_seconds": round(time.perf_counter() - self._started, 2),
                           "cell_seconds": self._cell_seconds, "kernel_was_waiting": self.kernel_was_waiting},
                          file)

    def _kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def _stop(self, why: str) -> None:
        """Kill the kernel (in the sandbox: bwrap, and with it every process inside), saying why."""
        pid = self._kernel_pid()
        if self._stopped or pid is None:
            return
        self._stopped = why
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def _start_watchdog(self) -> None:
        pid = self._kernel_pid()
        if pid is None:
            return
        deadline = time.monotonic() + self.time_limit if self.time_limit else None

        def watch() -> None:
            while not self._watchdog_stop.wait(0.2):
                rss = _tree_memory_bytes(pid)
                self.peak_rss = max(self.peak_rss, rss)
                if self.memory_limit and rss > self.memory_limit:
                    self._stop("memory")
                elif deadline is not None and time.monotonic() > deadline:
                    self._stop("time")
                if self._stopped:
                    return

        self._watchdog = threading.Thread(target=watch, daemon=True)
        self._watchdog.start()

    def _reason(self) -> str:
        if self._stopped == "memory":
            return message("kernel_memory", self.language, limit=self.memory_limit / 2**30)
        if self._stopped == "time":
            return message("kernel_time_limit", self.language, seconds=self.time_limit)
        if self._stopped == "interrupt":
            return message("kernel_ignored_interrupt", self.language, timeout=self.timeout, grace=self.interrupt_grace)
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
        reason = getattr(self, "_death_reason", None) or self._reason()
        died = message("kernel_died", self.language, reason=reason)
        self.log.warning("Kernel died in cell %d: %s", self._running_index, died)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index < self._running_index:
                continue
            if index == self._running_index:
                cell.outputs.append(_error("KernelDied", died))
            elif is_grade(cell):
                cell.outputs = [_error("NotRun", message("not_run_after_death", self.language))]
        self._death = {"cell": self._running_index, "reason": reason, "stopped_by_grader": self._stopped}


class RobustOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells`` that survives cells whose nbgrader metadata lost its id.

    A learner who copy-pastes a check cell in JupyterLab copies its metadata; nbgrader's
    ``DeduplicateIds`` then empties the metadata of all copies but the last, and a cell the
    gradebook does not know (a learner's own "graded" cell) has its id removed. nbgrader's
    ``add_missing_task_cells`` reads every such cell's id and the whole submission failed with
    ``KeyError: 'grade_id'``. Here those cells become ordinary cells, graded as nothing; every
    known cell is still restored from the gradebook (source, points), so the lesson's maximum and
    the learner's score stay right.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> Any:
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if "nbgrader" in cell.metadata and not cell.metadata.nbgrader.get("grade_id"):
            del cell.metadata["nbgrader"]
        return cell, resources


class SanitizeNotebook(NbGraderPreprocessor):
    """Keep only inert content in the graded notebook: outputs, widget state, the learner's own markdown."""

    source_notebook = Unicode("", help="The lesson's notebook in source/: its markdown cells are the lesson's own, "
                              "shown as they are; every other markdown cell is the learner's").tag(config=True)
    language = Unicode("en").tag(config=True)

    def _lesson_markdown(self) -> set[str]:
        if not self.source_notebook or not os.path.isfile(self.source_notebook):
            return set()
        import nbformat

        lesson = nbformat.read(self.source_notebook, as_version=4)
        return {cell.source for cell in lesson.cells if cell.cell_type == "markdown"}

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        from autograder.grader.sanitize import safe_markdown_cell, safe_output, valid_base64

        lesson_markdown = self._lesson_markdown()
        nb.metadata.pop("widgets", None)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [safe_output(output, self.language) for output in cell.get("outputs", [])]
            elif cell.cell_type == "markdown" and cell.source in lesson_markdown:
                for bundle in (cell.get("attachments") or {}).values():  # figures: image data only
                    for mime in list(bundle):
                        if not mime.startswith("image/") or valid_base64(bundle[mime]) is None:
                            del bundle[mime]
            elif cell.cell_type == "markdown":
                safe_markdown_cell(cell)
            else:  # a raw cell is copied into HTML pages untouched when its format says HTML: make it plain
                cell.metadata.pop("format", None)
                cell.metadata.pop("raw_mimetype", None)
        return nb, resources


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
