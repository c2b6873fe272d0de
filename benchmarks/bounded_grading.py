"""Benchmark: what a hostile submission costs the grader once bounded (issue 14).

    python benchmarks/bounded_grading.py [--out benchmarks/results/bounded_grading.json]

One course, four submissions graded one at a time (``grade --jobs 1``, sandboxed) so that each time is
its own: a solved notebook, the same with a cell that makes 100,000 files, one that tries to write
5 GiB, and one whose last cell ignores the interrupt in a busy loop (cell timeout 30 s). For each: the
job's wall time (``grading_stats.json``), the bytes and files that came back into ``autograded/`` and
``feedback/``, and the grader's notes. The hostile cells are the ones ``tests/test_submission_pages.py``
grades.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
LESSON = "residual_networks"


def folder_size(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files), len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bounded_grading.json")
    args = parser.parse_args(argv)

    import nbformat
    from test_submission_pages import DISK_WRITER, IGNORES_INTERRUPT, MANY_FILES

    from autograder.authoring.solve import solve
    from autograder.course.create import build_course

    scratch = Path(tempfile.mkdtemp(prefix="bounded-bench-"))
    try:
        root = build_course(scratch / "course", "en", cell_timeout=30)
        release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
        solved = solve(release, LESSON)
        notebooks = {"a_solved": solved}
        for name, source in (("b_many_files", MANY_FILES), ("c_disk_writer", DISK_WRITER),
                             ("d_ignores_interrupt", IGNORES_INTERRUPT)):
            notebooks[name] = copy.deepcopy(solved)
            notebooks[name].cells.append(nbformat.v4.new_code_cell(source))
        for student, notebook in notebooks.items():
            folder = root / "submitted" / student / LESSON
            shutil.copytree(root / "release" / LESSON, folder)
            nbformat.write(notebook, folder / f"{LESSON}.ipynb")
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(root), "--jobs", "1", "--quiet"],
                             capture_output=True, text=True, cwd=scratch)
        total = time.perf_counter() - start
        assert run.returncode == 0, run.stderr[-3000:]
        stats = json.loads((root / "grading_stats.json").read_text(encoding="utf-8"))
        notes = json.loads((root / "grading_notes.json").read_text(encoding="utf-8"))
        results = {}
        for student in notebooks:
            graded = folder_size(root / "autograded" / student / LESSON)
            feedback = folder_size(root / "feedback" / student / LESSON)
            results[student] = {"job_seconds": stats[f"{student}/{LESSON}"]["seconds"],
                                "main_thread_seconds": stats[f"{student}/{LESSON}"]["main_thread_seconds"],
                                "bytes_back": graded[0] + feedback[0], "files_back": graded[1] + feedback[1],
                                "notes": notes[f"{student}/{LESSON}"]["notes"]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = {"command": "python benchmarks/bounded_grading.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": {"cpus": os.cpu_count()}, "grade_seconds": round(total, 1), "submissions": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
