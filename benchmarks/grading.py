"""Benchmark: where a submission's grading time goes, how it compares with importing TensorFlow, how it scales.

    python benchmarks/grading.py [--students 4 16] [--jobs 1 2] [--one-core] [--repeats 3] [--out FILE]

1. The floor: executing a notebook that only imports TensorFlow, in a fresh kernel (no sandbox),
   and the same in a sandboxed kernel: the difference is the sandbox's start-up cost.
2. One residual_networks submission: executing the course's (hidden-test) notebook with the
   reference answers in the fast grading mode, in a fresh sandboxed kernel (the kernel alone).
3. End to end, for each number of students: ``python -m autograder grade`` on that many solved
   submissions with ``--jobs 1`` and ``--jobs 2``: the whole command per submission over the floor,
   ``--jobs 2`` / ``--jobs 1``, and from the course's ``grading_stats.json`` each task's time — a
   worker's first task and the rest (steady state) over the floor — and the median of every phase
   (job start, kernel start, the notebook's cells one by one, hidden tests, feedback…), and how busy the
   machine's cores were during the command (``/proc/stat``: 1.0 = every core busy all the time).
   Each command's ratios are over the floor measured just before and after it (``floor_near_seconds``).
   ``--one-core`` also runs ``grade --jobs 1`` pinned to one core ("1@1core"): ``--jobs 2`` on two cores
   over that is how grading scales with cores (``--jobs 1`` on two cores already keeps both busy).
Medians of ``--repeats`` runs for 1 and 2 (interleaved); the machine is shared and noisy, so
compare ratios. Code from before the per-phase timings gives the end-to-end figures only.
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


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def task_figures(stats: dict, floor: float) -> dict:
    """Each task's time (first on its worker, the rest), over the floor, and per-phase medians of the rest."""
    tasks = [entry for name, entry in stats.items() if not name.startswith("_") and "seconds" in entry]
    figures: dict = {"task_seconds_median": median([entry["seconds"] for entry in tasks]),
                     "main_thread_seconds_median": median([entry.get("main_thread_seconds", 0) for entry in tasks]),
                     "kernel_peak_gib_max": round(max(entry.get("peak_rss_bytes", 0) for entry in tasks) / 2**30, 2)}
    if not tasks or "task_on_worker" not in tasks[0]:
        return figures  # code from before the per-phase timings
    first = [entry for entry in tasks if entry["task_on_worker"] == 1]
    steady = [entry for entry in tasks if entry["task_on_worker"] > 1] or first
    figures |= {
        "first_task_seconds_median": median([entry["seconds"] for entry in first]),
        "steady_task_seconds_median": median([entry["seconds"] for entry in steady]),
        "job_runners": sorted({entry.get("job_runner", "") for entry in tasks}),
        "kernels_started_ahead": sum(bool(entry.get("kernel_started_ahead")) for entry in tasks),
        "worker_warm_up_seconds_median": median([entry["warm_up_before"] for entry in first
                                                 if "warm_up_before" in entry]),
    }
    figures["first_task_over_floor"] = round(figures["first_task_seconds_median"] / floor, 2)
    figures["steady_task_over_floor"] = round(figures["steady_task_seconds_median"] / floor, 2)
    figures["first_over_steady"] = round(figures["first_task_seconds_median"]
                                         / figures["steady_task_seconds_median"], 2)
    names = sorted({name for entry in steady for name in entry.get("phases", {})})
    figures["steady_phase_medians"] = {name: median([entry["phases"].get(name, 0.0) for entry in steady])
                                       for name in names}
    figures["first_phase_medians"] = {name: median([entry["phases"].get(name, 0.0) for entry in first])
                                      for name in sorted({n for entry in first for n in entry.get("phases", {})})}
    for name, group in (("steady", steady), ("first", first)):
        cells = [entry.get("cell_seconds", []) for entry in group]
        figures[f"{name}_cell_medians"] = [median([row[i] for row in cells if len(row) > i])
                                           for i in range(max(map(len, cells), default=0))]
    return figures


def cpu_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU time so far, in clock ticks (``/proc/stat``, every core)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


def grade_course(root: Path, jobs: int, one_core: bool = False) -> tuple[float, dict, float]:
    """The grade command's wall seconds, its grading_stats.json, and how busy the cores were meanwhile (0–1);
    ``one_core``: the command and everything it starts may run on one core only (as ``taskset`` would pin it)."""
    pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_core else None
    busy_before, total_before = cpu_ticks()
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(root), "--jobs", str(jobs), "--quiet"],
                         capture_output=True, text=True, timeout=3600, preexec_fn=pin)
    seconds = time.perf_counter() - start
    busy_after, total_after = cpu_ticks()
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    busy = (busy_after - busy_before) / max(1, total_after - total_before)
    return seconds, json.loads((root / "grading_stats.json").read_text()), round(busy, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--repeats", type=int, default=3, help="runs of the floor and of one submission")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="the grade command's --jobs values")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "grading.json")
    parser.add_argument("--one-core", action="store_true",
                        help="also grade with --jobs 1 pinned to one core: how grading scales with cores")
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
        floor_median = statistics.median(floor)

        batches = {}
        for students in args.students:
            course = build_course(scratch / f"course-{students}", "en")
            for index in range(students):
                folder = course / "submitted" / f"student{index}" / LESSON
                shutil.copytree(course / "release" / LESSON, folder)
                nbformat.write(solved, folder / f"{LESSON}.ipynb")
            runs = {}
            for jobs in [*args.jobs, *(["1@1core"] if args.one_core else [])]:
                # The floor again just before and after this command: the machine drifts over a run of the
                # benchmark, and a ratio is fair only against the floor of the same minutes.
                near = [timed_execution(nbformat.from_dict(floor_nb), source, env)]
                seconds, stats, busy = grade_course(course, int(str(jobs).split("@")[0]), one_core="@" in str(jobs))
                near.append(timed_execution(nbformat.from_dict(floor_nb), source, env))
                floor.extend(near)
                near_floor = statistics.mean(near)
                runs[str(jobs)] = {"grade_wall_seconds": round(seconds, 1), "cores_busy_fraction": busy,
                                   "floor_near_seconds": [round(value, 2) for value in near],
                                   "per_submission_over_floor": round(seconds / students / near_floor, 2),
                                   "autograde_phase_seconds": stats["_phases"]["autograde_seconds"],
                                   **task_figures(stats, near_floor)}
            if {"1", "2"} <= runs.keys():
                runs["jobs2_over_jobs1_throughput"] = round(runs["1"]["grade_wall_seconds"]
                                                            / runs["2"]["grade_wall_seconds"], 2)
            if {"1@1core", "2"} <= runs.keys():  # two cores and two workers against one core and one worker
                runs["jobs2_over_jobs1_on_one_core_throughput"] = round(runs["1@1core"]["grade_wall_seconds"]
                                                                        / runs["2"]["grade_wall_seconds"], 2)
            batches[str(students)] = runs
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    result = {
        "command": "python benchmarks/grading.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpus": os.cpu_count()},
        "floor_import_tensorflow_seconds": {"median": round(statistics.median(floor), 2), "runs": floor},
        "floor_sandboxed_seconds": {"median": round(statistics.median(floor_sandboxed), 2),
                                    "runs": floor_sandboxed},
        "sandbox_startup_seconds": round(statistics.median(floor_sandboxed) - floor_median, 2),
        "one_submission_execution_seconds": {"median": round(statistics.median(one), 2), "runs": one},
        "ratio_submission_to_floor": round(statistics.median(one) / floor_median, 2),
        "grade": batches,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
