"""Benchmark: grading on submit — from *Submit* to fetchable feedback, and a deadline burst against ``grade``.

    sudo python benchmarks/on_submit.py [--single 5] [--burst 40] [--out benchmarks/results/on_submit.json]

Needs root: the students are real Unix users (the service believes the owner of a submission, not its
name), made for the run and deleted after it; their nbgrader is the hub's shared environment of the tests
(``tests/support/shared_env.py``, cached in /opt/resnet-course-tests). The service runs as this process's
user (``python -m autograder serve COURSE --jobs 2 --poll 1``), with the course's exchange in /tmp.

1. ``--single`` submissions one after another (each by a different student, a solved notebook): the time
   from starting ``nbgrader submit`` to the feedback page being where ``nbgrader fetch_feedback`` finds
   it, split into the submit command, the wait until the service notices, until it starts grading, the
   grading, and publishing. Then one real ``nbgrader fetch_feedback`` checks that the page is fetched.
2. ``--burst`` students submit at once: the time from the first Submit until the last is graded. Then,
   the service stopped, the same students submit again at once, the instructor runs ``nbgrader collect``
   and ``grade --jobs 2``: the same time, the way ``grade`` grades a burst, on the same machine; and each
   part of it (the submits, collect, ``grade`` alone).
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
LESSON = "residual_networks"


def journal(course: Path) -> dict[str, dict]:
    try:
        return json.loads((course / "grading-service" / "journal.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=5)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "on_submit.json")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run as root: the students are real Unix users made for the run")

    from support.course import answered
    from support.shared_env import locked, shared_env
    from support.unix_users import Users, popen_as, run_as, write_as

    from autograder.course.create import build_course
    from autograder.course.service import SERVICE_DIR

    scratch = Path(tempfile.mkdtemp(prefix="on-submit-bench-"))
    scratch.chmod(0o755)
    out: dict = {"command": "python benchmarks/on_submit.py " + " ".join(sys.argv[1:] if argv is None else argv),
                 "machine": {"cpus": os.cpu_count()}}
    with locked(), Users() as users:
        shared = shared_env()
        exchange = scratch / "exchange"
        exchange.mkdir()
        exchange.chmod(0o1777)
        course = build_course(scratch / "course", "en", exchange=exchange)
        settings = json.loads((course / "course.json").read_text(encoding="utf-8"))
        settings["on_submit"] = {"default": {"submissions": 1000, "window_minutes": 1}}
        (course / "course.json").write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "nbgrader", "release_assignment", LESSON], cwd=course, check=True,
                       capture_output=True, timeout=300)
        roles = [f"s{i}" for i in range(args.single)] + [f"b{i}" for i in range(args.burst)]
        people = {role: users.add(role) for role in roles}

        def nbgrader(role: str, *command: str, wait: bool = True):
            user = people[role]
            argv = [shared.bin / "nbgrader", *command]
            if wait:
                return run_as(user, argv, env=user.env(shared.path()), timeout=600)
            return popen_as(user, argv, env=user.env(shared.path()), stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)

        with shared.student_config(course / "for_students" / "nbgrader_config.py"):
            fetching = [nbgrader(role, "fetch_assignment", LESSON, wait=False) for role in roles]
            assert all(process.wait(timeout=900) == 0 for process in fetching)
            solved = None
            for role in roles:
                path = people[role].home / LESSON / f"{LESSON}.ipynb"
                solved = solved or answered(path, LESSON)
                write_as(people[role], path, solved)
            log = (scratch / "service.log").open("w")
            service = subprocess.Popen([sys.executable, "-m", "autograder", "serve", str(course), "--jobs", "2",
                                        "--poll", "1"], stdout=log, stderr=subprocess.STDOUT)
            try:
                while not (course / SERVICE_DIR / "status.json").is_file():
                    assert service.poll() is None, (scratch / "service.log").read_text()
                    time.sleep(0.2)

                # 1. One submission at a time.
                singles = []
                for role in roles[:args.single]:
                    name = people[role].name
                    start = time.monotonic()
                    nbgrader(role, "submit", LESSON)
                    marks = {"submitted": time.monotonic() - start}
                    while "published" not in marks:
                        entry = next((e for e in journal(course).values() if e["student"] == name), None)
                        now = time.monotonic() - start
                        if entry:
                            marks.setdefault("noticed", now)
                            if entry["state"] in ("grading", "graded"):
                                marks.setdefault("grading", now)
                            if entry["state"] == "graded":
                                marks.setdefault("published", now)
                            assert entry["state"] in ("received", "ready", "grading", "graded"), entry
                        time.sleep(0.05)
                    fetched = nbgrader(role, "fetch_feedback", LESSON)
                    assert list((people[role].home / LESSON / "feedback").glob(f"*/{LESSON}.html")), fetched.stdout
                    singles.append({key: round(value, 2) for key, value in marks.items()})
                total = [s["published"] for s in singles]
                out["single"] = {
                    "submit_to_feedback_seconds": {"median": statistics.median(total), "runs": total},
                    "where_the_time_goes_median_seconds": {
                        name: round(statistics.median(values), 2) for name, values in [
                        ("nbgrader submit", [s["submitted"] for s in singles]),
                        ("until the service notices", [s["noticed"] - s["submitted"] for s in singles]),
                        ("until grading starts", [s["grading"] - s["noticed"] for s in singles]),
                        ("grading and publishing", [s["published"] - s["grading"] for s in singles])]},
                    "runs": singles,
                }
                print(json.dumps(out["single"], indent=1), flush=True)

                # 2. A burst: everyone at once.
                burst = roles[args.single:]
                start = time.monotonic()
                submitting = [nbgrader(role, "submit", LESSON, wait=False) for role in burst]
                assert all(process.wait(timeout=900) == 0 for process in submitting)
                submitted = time.monotonic() - start
                names = {people[role].name for role in burst}
                while True:
                    states = [e["state"] for e in journal(course).values() if e["student"] in names]
                    if len(states) == len(burst) and all(state == "graded" for state in states):
                        break
                    assert service.poll() is None, (scratch / "service.log").read_text()[-3000:]
                    time.sleep(0.2)
                service_seconds = time.monotonic() - start
            finally:
                service.terminate()
                service.wait(timeout=120)
                log.close()

            # The same burst the way `grade` grades it: everyone submits again (no service running), the
            # instructor collects, then `grade --jobs 2` (only the burst: the singles' folders are set aside).
            start = time.monotonic()
            submitting = [nbgrader(role, "submit", LESSON, wait=False) for role in burst]
            assert all(process.wait(timeout=900) == 0 for process in submitting)
            resubmitted = time.monotonic() - start
            subprocess.run([sys.executable, "-m", "nbgrader", "collect", "--update", LESSON], cwd=course,
                           check=True, capture_output=True, timeout=900)
            collected = time.monotonic() - start
        for role in roles[:args.single]:
            shutil.rmtree(course / "submitted" / people[role].name)
        started_grade = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(course), "--jobs", "2", "--quiet"],
                             capture_output=True, text=True, timeout=7200)
        grade_seconds = time.monotonic() - started_grade
        grade_path = time.monotonic() - start
        assert run.returncode == 0, run.stderr[-3000:]
        phases = json.loads((course / "grading_stats.json").read_text())["_phases"]
        out["burst"] = {
            "submissions": len(burst),
            "service": {"nbgrader_submit_all_seconds": round(submitted, 1),
                        "first_submit_to_last_graded_seconds": round(service_seconds, 1),
                        "last_submit_returned_to_last_graded_seconds": round(service_seconds - submitted, 1)},
            "grade": {"nbgrader_submit_all_seconds": round(resubmitted, 1),
                      "collect_seconds": round(collected - resubmitted, 1),
                      "grade_jobs_2_wall_seconds": round(grade_seconds, 1),
                      "grade_jobs_2_autograde_phase_seconds": phases["autograde_seconds"],
                      "first_submit_to_last_graded_seconds": round(grade_path, 1)},
            # Both ways from the first Submit to the last grade: the burst's throughput.
            "service_over_grade_first_submit_to_last_graded": round(service_seconds / grade_path, 3),
            # The grading alone: the service from the last Submit returning, against `grade` by itself.
            "service_after_last_submit_over_grade_wall": round((service_seconds - submitted) / grade_seconds, 3),
        }
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(out["burst"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
