"""Write the solved version of a student notebook: answer cells get the reference code.

In each answer cell the definition named by the cell's ``grade_id`` (a function or class)
is replaced by its source in ``solutions/<lesson>.py``; the rest of the cell (for example
the call that loads the dataset) is kept, so the solved notebook runs like the student's.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager


def lesson_of(notebook: nbformat.NotebookNode, path: Path) -> str:
    return notebook.metadata.get("course", {}).get("lesson") or path.stem


def solve_cell(source: str, name: str, reference: str) -> str:
    """``source`` with the top-level definition of ``name`` replaced by ``reference``."""
    python = TransformerManager().transform_cell(source)  # magics become plain calls; lines stay put
    for node in ast.parse(python).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            lines = source.splitlines()
            start = node.lineno - 1 - len(node.decorator_list)
            return "\n".join(lines[:start] + reference.rstrip("\n").splitlines() + lines[node.end_lineno :])
    raise ValueError(f"answer cell {name!r} defines no function or class named {name!r}")


def solve(notebook: nbformat.NotebookNode, lesson: str) -> nbformat.NotebookNode:
    from autograder.authoring.reference import reference as reference_of
    from autograder.learner.startup import quiet_tensorflow_start

    quiet_tensorflow_start()  # solutions import TensorFlow: without its start-up lines on the terminal
    try:
        reference = reference_of(lesson)  # the repository's solutions/, whatever the working folder
    except ModuleNotFoundError as error:
        if error.name != f"solutions.{lesson}":
            raise
        raise ValueError(f"no reference solutions for lesson {lesson!r} (solutions/{lesson}.py)") from None
    solved = nbformat.from_dict(notebook)
    for cell in solved.cells:
        grading = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grading.get("solution"):
            name = grading["grade_id"]
            if not hasattr(reference, name):
                raise ValueError(f"solutions/{lesson}.py has no reference for answer cell {name!r}")
            cell.source = solve_cell(cell.source, name, inspect.getsource(getattr(reference, name)))
    return solved


def solve_file(notebook_path: Path, output: Path) -> Path:
    """Read a student notebook, write its solved version to ``output``; return the file written.

    ``output`` is the notebook to write, or a folder (an existing one, or any name not ending
    in ``.ipynb``) to write it into under the student notebook's name.
    """
    if not notebook_path.is_file():
        raise ValueError(f"no such notebook: {notebook_path}")
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises several unrelated types
        raise ValueError(f"{notebook_path} is not a readable notebook: {error}") from None
    solved = solve(notebook, lesson_of(notebook, notebook_path))
    if output.is_dir() or output.suffix != ".ipynb":
        output = output / notebook_path.name
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solved, output)
    return output
