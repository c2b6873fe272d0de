"""Project hygiene: dependencies agree, lint is clean, the README names the test command."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

from conftest import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet


def pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def environment_requirements() -> list[str]:
    lines = (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()
    start = lines.index("  - pip:")
    return [line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- ") and "-e ." not in line]


def test_environment_yml_mirrors_pyproject() -> None:
    assert sorted(environment_requirements()) == sorted(pyproject_requirements())


def _requires_python() -> SpecifierSet:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return SpecifierSet(project["requires-python"])


def _python_range(specifiers: SpecifierSet) -> tuple[str, str]:
    """The lowest and highest Python minor version ``specifiers`` allow, e.g. ("3.11", "3.13")."""
    allowed = [f"3.{minor}" for minor in range(30) if f"3.{minor}" in specifiers]
    assert allowed, specifiers
    return allowed[0], allowed[-1]


def test_requires_python_covers_every_dependency() -> None:
    """The oldest and newest Python we promise are accepted by each dependency as installed here (nbgrader: 3.11)."""
    lowest, highest = _python_range(_requires_python())
    refused = {}
    for line in pyproject_requirements():
        name = Requirement(line).name
        needs = SpecifierSet(metadata.metadata(name).get("Requires-Python") or "")
        refused.update({f"{name} {metadata.version(name)}": f"{needs} (Python {version})"
                        for version in (lowest, highest) if version not in needs})
    assert not refused, f"requires-python {_requires_python()} promises a Python that these refuse: {refused}"
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in _requires_python()


def test_python_range_is_the_same_in_pyproject_environment_yml_and_readme() -> None:
    lowest, highest = _python_range(_requires_python())
    environment = (ROOT / "environment.yml").read_text(encoding="utf-8")
    conda = re.search(r"^  - python(.+)$", environment, flags=re.M).group(1).strip()
    assert _python_range(SpecifierSet(conda)) == (lowest, highest)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python {lowest}–{highest}" in readme


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
