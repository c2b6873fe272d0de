"""The package is laid out by where code runs, and imports only go one way.

* ``learner`` — what a learner's kernel imports; copied into every lesson of a course as one folder:
  it imports nothing else of the package;
* ``grader`` — what runs on a grading worker (and in the job and the sandbox it starts): ``learner``
  and itself;
* ``course`` — the instructor's process: ``grader``, ``learner`` and itself;
* ``authoring`` — the generators, ``solve`` and the demo: anything; the only place that imports the
  reference solutions' package (the grader receives a lesson's reference as source text).

Checked on the source with ``ast``: every import of ``autograder.*`` or ``solutions`` in every module,
function bodies included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder import paths

ALLOWED = {
    "learner": {"learner"},
    "grader": {"learner", "grader"},
    "course": {"learner", "grader", "course"},
    "authoring": {"learner", "grader", "course", "authoring"},
}
# Names kept for one release, re-exporting the new places (courses built before name them in their config).
SHIMS = {"course/feedback.py", "course/preprocessors.py"}
TOP_LEVEL = {"paths"}  # importable from anywhere but the learner's runtime


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{alias.name}")
                                                       for alias in node.names if node.module == "autograder"]
    return found


def modules(package: str) -> list[Path]:
    return sorted((paths.PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_go_one_way(package: str) -> None:
    violations = []
    for path in modules(package):
        relative = path.relative_to(paths.PACKAGE).as_posix()
        if relative in SHIMS:
            continue
        for line, name in imports(path):
            parts = name.split(".")
            if parts[0] == "solutions" and package != "authoring":
                violations.append(f"{relative}:{line} imports {name}")
            if parts[0] != "autograder" or len(parts) < 2:
                continue
            target = parts[1]
            if target in TOP_LEVEL and package != "learner":
                continue
            if target not in ALLOWED[package]:
                violations.append(f"{relative}:{line} imports {name}")
    assert violations == [], "\n".join(violations)


def test_every_module_belongs_to_a_package() -> None:
    """Nothing at the top of the package but the command line and the paths."""
    top = sorted(path.name for path in paths.PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py", "paths.py"]
    assert {path.name for path in paths.PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"} \
        == set(ALLOWED)


def test_the_learners_runtime_is_one_folder_that_runs_alone(tmp_path: Path) -> None:
    """What a course copies into a lesson imports without the rest of the package (a fresh interpreter)."""
    import shutil
    import subprocess
    import sys

    (tmp_path / "autograder").mkdir()
    shutil.copy2(paths.PACKAGE / "__init__.py", tmp_path / "autograder" / "__init__.py")
    shutil.copytree(paths.LEARNER, tmp_path / "autograder" / "learner", ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys; from autograder.learner.lesson import lessons; from autograder.learner import startup, "
            "datasets, fast_mode, i18n; [l.checks for l in lessons().values()]; "
            "import autograder; print(autograder.__file__); "
            "print(sorted(m for m in sys.modules if m.startswith('autograder')))")
    # -c puts the working folder first on sys.path, ahead of the editable install's finder.
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-2] == str(tmp_path / "autograder" / "__init__.py")
    loaded = eval(run.stdout.strip().splitlines()[-1])  # noqa: S307 - our own subprocess's printed list
    assert all(name == "autograder" or name.startswith("autograder.learner") for name in loaded), loaded
