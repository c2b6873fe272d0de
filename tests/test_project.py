"""Project hygiene: dependencies agree, lint is clean, the README names the test command."""

from __future__ import annotations

import re
import subprocess
import sys

import tomllib
from conftest import ROOT


def pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def environment_requirements() -> list[str]:
    lines = (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("  - pip:")
    return [line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- ") and "-e ." not in line]


def test_environment_yml_mirrors_pyproject() -> None:
    assert sorted(environment_requirements()) == sorted(pyproject_requirements())


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\s*\n(.+?)\n```", readme, flags=re.S).group(1).strip()
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_ruff_is_clean() -> None:
    run = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_benchmark_readme_quotes_the_recorded_grading_results() -> None:
    """The headline figures in benchmarks/README.md are those of results/grading.json (rerun both together)."""
    import json

    results = json.loads((ROOT / "benchmarks" / "results" / "grading.json").read_text(encoding="utf-8"))
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert results["command"] in readme
    for key in ("ratio_submission_to_floor", "throughput_ratio_jobs2_to_jobs1"):
        assert f"**{results[key]:.2f}**" in readme, key
    assert f"{results['grade_wall_seconds']['1']} s" in readme and f"{results['grade_wall_seconds']['2']} s" in readme
