"""``python -m autograder.grader.nbgrader_cli ARGS``: nbgrader's own command line, started faster.

nbformat imports jsonschema, which imports the optional ``rfc3987_syntax`` package to check
"iri" strings; that package compiles a Lark grammar on import, ~1.3 s of the ~3.5 s it takes
an nbgrader process to start on 2 cores (``python -X importtime -m nbgrader``). The grader
starts one nbgrader process per submission, and nbformat's notebook schema has no "iri"
field, so these processes (and ``python -m autograder``) do without that check.

nbgrader creates and upgrades the gradebook by running its helper ``alembic`` by name, from
PATH; started as ``/path/to/env/bin/python -m …`` with that ``bin/`` not on PATH (a venv not
activated, a Jupyter kernel, cron) it fails. Every nbgrader process the course starts goes
through :func:`main`, which puts this Python's own scripts folder first on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

SKIPPED_IMPORTS = ("rfc3987_syntax",)
NBGRADER = (sys.executable, "-I", "-m", "autograder.grader.nbgrader_cli")  # nbgrader's CLI, started faster


class NbgraderFailed(RuntimeError):
    """An nbgrader command failed; ``cause`` is nbgrader's own, one line."""

    def __init__(self, command: str, cause: str) -> None:
        super().__init__(f"nbgrader {command} failed: {cause}")
        self.command, self.cause = command, cause


def run_nbgrader(root: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run an nbgrader command in the course ``root``; NbgraderFailed with nbgrader's own error on failure."""
    run = subprocess.run([*NBGRADER, *args], cwd=root, capture_output=True, text=True, timeout=timeout)
    if run.returncode != 0:
        cause = error_cause(run.stdout + "\n" + run.stderr) or f"exit code {run.returncode}"
        raise NbgraderFailed(" ".join(args), cause)
    return run


def skip_slow_imports() -> None:
    """Make ``import rfc3987_syntax`` raise ImportError in this process (call before nbformat is imported)."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def find_own_scripts() -> None:
    """Put this environment's scripts folder (``alembic`` is there) first on PATH, for this process and its children."""
    folders = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    first = list(dict.fromkeys(folder for folder in folders if folder))
    os.environ["PATH"] = os.pathsep.join(first + [entry for entry in path if entry not in first])


def error_cause(output: str) -> str:
    """The line of an nbgrader command's log that says what went wrong ("" for an empty log).

    nbgrader logs a traceback, then ends with "Please see the above traceback": the cause is the
    exception line of the last traceback (``FileNotFoundError: … 'alembic'``), else the last
    ERROR line that says more than that, else the last line.
    """
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    if not lines:
        return ""
    starts = [index for index, line in enumerate(lines) if "Traceback (most recent call last):" in line]
    if starts:
        block = []
        for line in lines[starts[-1] + 1:]:
            if line.startswith("["):  # the next log record
                break
            block.append(line)
        # Frames ("File …") and their code are indented deeper than the exception line.
        candidates = [line for line in block if not line.lstrip().startswith("File ")]
        if candidates:
            indent = min(len(line) - len(line.lstrip()) for line in candidates)
            return next(line for line in candidates if len(line) - len(line.lstrip()) == indent).strip()
    errors = [line for line in lines if "| ERROR]" in line and "above traceback" not in line]
    return (errors or lines)[-1]


def main() -> None:
    skip_slow_imports()
    find_own_scripts()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
