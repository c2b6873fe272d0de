"""Benchmark: how fast a submission grades, how well grading scales with --jobs, how much memory a worker takes.

    python benchmarks/grading.py [--students 4] [--repeats 3] [--out benchmarks/results/grading.json]

1. The floor: executing a notebook that only imports TensorFlow, in a fresh kernel (no sandbox),
   and the same in a sandboxed kernel: the difference is the sandbox's start-up cost.
2. One residual_networks submission: executing the course's (hidden-test) notebook with the
   reference answers in the fast grading mode, in a fresh sandboxed kernel — what one worker does.
3. End to end: ``python -m autograder grade`` on N solved submissions with ``--jobs 1`` and
   ``--jobs 2`` (throughput = submissions per second), and each worker's kernel peak memory.
Medians of ``--repeats`` runs for 1 and 2 (interleaved); the machine is shared and noisy, so
compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LESSON = "residual_networks"


def timed_execution(notebook, source: Path, env: dict[str, str], sandbox: bool = False) -> float:
    """Execute ``notebook`` in a fresh kernel in a fresh copy of ``source`` (a sandbox takes its folder over)."""
    from nbclient import NotebookClient

    from autograder.grader.kernel import SandboxedKernelManager

    with tempfile.TemporaryDirectory(prefix="bench-run-") as scratch:
        cwd = Path(scratch) / "lesson"
        shutil.copytree(source, cwd)
        saved = dict(os.environ)
        os.environ.update(env | {"NBGRADER_EXECUTION": "autograde"})
        try:
            client = NotebookClient(notebook, timeout=600, allow_errors=True, kernel_name="python3",
                                    resources={"metadata": {"path": str(cwd)}},
                                    **({"kernel_manager_class": SandboxedKernelManager} if sandbox else {}))
            start = time.perf_counter()
            client.execute()
            return time.perf_counter() - start
        finally:
            os.environ.clear()
            os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "grading.json")
    args = parser.parse_args(argv)

    import nbformat

    from autograder.authoring.solve import solve
    from autograder.course.create import build_course

    scratch = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    try:
        root = build_course(scratch / "course", "en")
        source = root / "source" / LESSON
        solved = solve(nbformat.read(source / f"{LESSON}.ipynb", as_version=4), LESSON)
        floor_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tensorflow as tf")])
        record = scratch / "record"
        record.mkdir()
        env = {"AUTOGRADER_RECORD_DIR": str(record), "AUTOGRADER_HIDDEN_SEED": "7", "TF_CPP_MIN_LOG_LEVEL": "2"}

        floor, floor_sandboxed, one = [], [], []
        for _ in range(args.repeats):  # interleaved, so that a slower spell of the machine hits all
            floor.append(timed_execution(nbformat.from_dict(floor_nb), source, env))
            floor_sandboxed.append(timed_execution(nbformat.from_dict(floor_nb), source, env, sandbox=True))
            one.append(timed_execution(nbformat.from_dict(solved), source, env, sandbox=True))

        for index in range(args.students):
            folder = root / "submitted" / f"student{index}" / LESSON
            shutil.copytree(root / "release" / LESSON, folder)
            nbformat.write(solved, folder / f"{LESSON}.ipynb")
        end_to_end = {}
        stats = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(root), "--jobs", str(jobs),
                                  "--quiet"], capture_output=True, text=True, timeout=3600)
            end_to_end[jobs] = time.perf_counter() - start
            if run.returncode != 0:
                print(run.stderr[-2000:], file=sys.stderr)
                return 1
            stats[jobs] = json.loads((root / "grading_stats.json").read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def worker(jobs: int, key: str) -> float:
        return statistics.median(entry[key] for name, entry in stats[jobs].items() if not name.startswith("_"))

    result = {
        "command": "python benchmarks/grading.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpus": os.cpu_count()},
        "floor_import_tensorflow_seconds": {"median": round(statistics.median(floor), 2), "runs": floor},
        "floor_sandboxed_seconds": {"median": round(statistics.median(floor_sandboxed), 2),
                                    "runs": floor_sandboxed},
        "sandbox_startup_seconds": round(statistics.median(floor_sandboxed) - statistics.median(floor), 2),
        "one_submission_execution_seconds": {"median": round(statistics.median(one), 2), "runs": one},
        "ratio_submission_to_floor": round(statistics.median(one) / statistics.median(floor), 2),
        "students": args.students,
        "grade_wall_seconds": {str(j): round(s, 1) for j, s in end_to_end.items()},
        "throughput_submissions_per_minute": {str(j): round(60 * args.students / s, 2) for j, s in end_to_end.items()},
        "throughput_ratio_jobs2_to_jobs1": round(end_to_end[1] / end_to_end[2], 2),
        "autograde_phase_ratio_jobs2_to_jobs1": round(stats[1]["_phases"]["autograde_seconds"]
                                                      / stats[2]["_phases"]["autograde_seconds"], 2),
        "worker_seconds_median": {str(j): round(worker(j, "seconds"), 1) for j in stats},
        "worker_peak_rss_gib_median": {str(j): round(worker(j, "peak_rss_bytes") / 2**30, 2) for j in stats},
        "worker_peak_rss_gib_max": {str(j): round(max(e["peak_rss_bytes"] for n, e in stats[j].items()
                                                      if not n.startswith("_")) / 2**30, 2) for j in stats},
        "main_thread_seconds_per_submission_median": {str(j): worker(j, "main_thread_seconds") for j in stats},
        "phases": {str(j): stats[j]["_phases"] for j in stats},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
