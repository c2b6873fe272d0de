"""Time the floor and one solved submission with the code of a checkout, to compare two commits fairly.

    git worktree add /tmp/old COMMIT
    for i in 1 2; do python benchmarks/compare_code.py /tmp/old 2; python benchmarks/compare_code.py . 2; done

Prints one JSON line per call: ROUNDS timings each of the floor (a plain kernel importing
TensorFlow) and of one solved residual_networks submission in fast grading mode (in the
sandboxed kernel when that checkout has one), interleaved. Alternate the two checkouts so that a
slow spell of the shared machine hits both.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

repo = Path(sys.argv[1]).resolve()
rounds = int(sys.argv[2])
sys.path.insert(0, str(repo))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

try:  # the layout since the house restructure (issue 17)
    from autograder.authoring.solve import solve  # noqa: E402
    from autograder.course.create import build_course  # noqa: E402
    KERNEL_MODULE = "autograder.grader.kernel"
except ImportError:  # older checkouts
    from autograder.build.solve import solve  # noqa: E402
    from autograder.course.build import build_course  # noqa: E402
    KERNEL_MODULE = "autograder.course.kernel"

LESSON = "residual_networks"


def run(notebook: nbformat.NotebookNode, source: Path, sandbox: bool) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        cwd = Path(scratch) / "lesson"
        shutil.copytree(source, cwd)
        options = {}
        if sandbox:
            import importlib

            options["kernel_manager_class"] = importlib.import_module(KERNEL_MODULE).SandboxedKernelManager
        client = NotebookClient(nbformat.from_dict(notebook), timeout=600, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}, **options)
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def main() -> None:
    assert Path(sys.modules["autograder"].__file__).is_relative_to(repo), "imported the wrong checkout"
    sandbox = (repo / Path(*KERNEL_MODULE.split("."))).with_suffix(".py").exists()
    scratch = Path(tempfile.mkdtemp())
    try:
        root = build_course(scratch / "course", "en")
        source = root / "source" / LESSON
        solved = solve(nbformat.read(source / f"{LESSON}.ipynb", as_version=4), LESSON)
        floor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tensorflow as tf")])
        os.environ.update({"AUTOGRADER_RECORD_DIR": str(scratch), "AUTOGRADER_HIDDEN_SEED": "7",
                           "TF_CPP_MIN_LOG_LEVEL": "2", "NBGRADER_EXECUTION": "autograde"})
        out: dict[str, list[float]] = {"floor": [], "one": []}
        for _ in range(rounds):
            out["floor"].append(round(run(floor, source, False), 2))
            out["one"].append(round(run(solved, source, sandbox), 2))
        print(json.dumps(out))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
