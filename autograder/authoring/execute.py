"""Run a notebook the way nbgrader does, and read back what each grade cell did."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient


@dataclass
class GradeResult:
    grade_id: str
    points: float
    passed: bool
    text: str  # what the cell printed: the confirmation, or the failure message


def execute(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = 300, grading: bool = True,
            env: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Execute every cell, errors allowed, in ``cwd``; fast grading mode unless ``grading`` is False."""
    saved = dict(os.environ)
    try:
        if grading:
            os.environ["NBGRADER_EXECUTION"] = "autograde"
        else:
            os.environ.pop("NBGRADER_EXECUTION", None)
        os.environ.update(env or {})
        client = NotebookClient(notebook, timeout=timeout, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def _text(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    return str(output.get("data", {}).get("text/plain", ""))


def grade_results(notebook: nbformat.NotebookNode) -> list[GradeResult]:
    """nbgrader's rule: a grade cell passes when it has no error and nothing on stderr."""
    results = []
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not grading.get("grade"):
            continue
        failed = any(o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
                     for o in cell.outputs)
        results.append(GradeResult(grading["grade_id"], float(grading.get("points", 0)), not failed,
                                   "".join(_text(o) for o in cell.outputs).strip()))
    return results
