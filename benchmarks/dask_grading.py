"""Benchmark: grading as Dask tasks — task overhead, gradebook merge rate, a projection to 10,000 submissions.

    python benchmarks/dask_grading.py [--repeats 5] [--merge 1000] [--out benchmarks/results/dask_grading.json]

1. Task overhead: one solved residual_networks submission graded by ``grade_submission``
   called directly in this process, and the same call as a task on a one-worker
   ``LocalCluster`` (inputs and outputs as bytes through Dask), interleaved, medians.
2. Merge rate: ``--merge`` synthetic results (the grades of a real graded submission, new
   student ids) merged into a course gradebook by the main process, with and without writing
   the graded and feedback folders; then ``nbgrader export`` of that gradebook.
3. A projection of 10,000 submissions on 100 two-core workers from the measured task time
   (``benchmarks/results/grading.json``, ``--jobs 1``), merge rate and export time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LESSON = "residual_networks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--merge", type=int, default=1000, help="synthetic results to merge")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dask_grading.json")
    args = parser.parse_args(argv)

    import nbformat
    from distributed import Client, LocalCluster

    from autograder.authoring.solve import solve
    from autograder.course.create import build_course, nbgrader, read_course
    from autograder.course.grade import CourseWriter, course_files, find_submissions, submission_files
    from autograder.course.gradebook import GradebookWriter
    from autograder.grader.limits import DEFAULT
    from autograder.grader.payload import JobSpec, SubmissionKey
    from autograder.grader.task import grade_submission
    from autograder.grader.version import fingerprint

    scratch = Path(tempfile.mkdtemp(prefix="dask-bench-"))
    try:
        root = build_course(scratch / "course", "en")
        release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
        folder = root / "submitted" / "solved" / LESSON
        shutil.copytree(root / "release" / LESSON, folder)
        nbformat.write(solve(release, LESSON), folder / f"{LESSON}.ipynb")
        course = read_course(root)
        found = find_submissions(root, course["lessons"])[0]
        files = course_files(root, course, LESSON)
        job = JobSpec(found.key, submission_files(found.folder, files.lesson_files()), seed=7, limits=DEFAULT,
                      sandbox=True, version=fingerprint(), threads=os.cpu_count() or 1)

        # 1. The same task, directly and through Dask (both warmed up once: TF and the reference are cached).
        direct, through_dask = [], []
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, memory_limit=0,
                          dashboard_address=None, host="127.0.0.1") as cluster, Client(cluster) as client:
            shared = client.scatter(files, broadcast=True)
            outcome = grade_submission(files, job)
            assert outcome.status == "graded", outcome.reason
            client.submit(grade_submission, shared, job, pure=False).result()
            for _ in range(args.repeats):
                start = time.perf_counter()
                grade_submission(files, job)
                direct.append(round(time.perf_counter() - start, 2))
                start = time.perf_counter()
                client.submit(grade_submission, shared, job, pure=False).result()
                through_dask.append(round(time.perf_counter() - start, 2))

        # 2. Merging: the real outcome's grades under new student ids, into the course gradebook.
        merged = {}
        for write_files in (False, True):
            copy = scratch / f"merge-{write_files}"
            shutil.copytree(root, copy)
            with GradebookWriter(copy / "gradebook.db") as gradebook:
                writer = CourseWriter(copy, gradebook)
                start = time.perf_counter()
                for index in range(args.merge):
                    key = SubmissionKey(f"s{index:05d}", LESSON)
                    if write_files:
                        writer.record(dataclasses.replace(outcome, key=key))
                    else:
                        gradebook.merge(key, outcome.grades)
                merged[write_files] = time.perf_counter() - start
            if write_files:
                start = time.perf_counter()
                nbgrader(copy, "export", "--to", str(copy / "grades.csv"))
                export_seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    grading = json.loads((ROOT / "benchmarks" / "results" / "grading.json").read_text())
    task_seconds = grading["worker_seconds_median"]["1"]  # one task per 2-core machine
    n, workers = 10_000, 100
    merge_rate = args.merge / merged[True]
    waves = math.ceil(n / workers)
    compute = n * task_seconds / workers
    # Results arrive at workers/task_seconds per second; the main process keeps up if it merges faster.
    arrival = workers / task_seconds
    projected = waves * task_seconds + (0 if merge_rate > arrival else n / merge_rate - compute) \
        + export_seconds * n / args.merge
    overhead = statistics.median(through_dask) / statistics.median(direct) - 1
    out = {
        "command": "python benchmarks/dask_grading.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpus": os.cpu_count()},
        "task_direct_seconds": {"median": statistics.median(direct), "runs": direct},
        "task_through_dask_seconds": {"median": statistics.median(through_dask), "runs": through_dask},
        "task_overhead_ratio": round(overhead, 3),
        "merge_submissions": args.merge,
        "merge_gradebook_only_per_second": round(args.merge / merged[False], 1),
        "merge_with_files_per_second": round(merge_rate, 1),
        # What one result carries back to the main process, and what writing it costs there (issue 14).
        "result_bytes": {"graded": sum(map(len, outcome.graded.values())),
                         "feedback": sum(map(len, outcome.feedback.values())),
                         "files": len(outcome.graded) + len(outcome.feedback)},
        "main_process_seconds_per_submission": {"merge_only": round(merged[False] / args.merge, 5),
                                                "merge_and_write_folders": round(merged[True] / args.merge, 5)},
        "export_seconds": round(export_seconds, 1),
        "projection": {
            "submissions": n, "workers": workers, "task_seconds": task_seconds,
            "total_task_seconds_over_workers": round(compute),
            "results_arriving_per_second": round(arrival, 2),
            "export_seconds_scaled": round(export_seconds * n / args.merge),
            "projected_wall_seconds": round(projected),
            "projected_over_ideal": round(projected / compute, 3),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
