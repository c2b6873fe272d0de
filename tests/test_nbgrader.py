"""The student notebooks' metadata is what real nbgrader accepts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import LANGS, LESSONS, student_notebook


@pytest.mark.parametrize("lang", LANGS)
def test_generate_assignment_accepts_the_notebooks(tmp_path: Path, lang: str) -> None:
    for lesson in LESSONS:
        source = tmp_path / "source" / lesson
        source.mkdir(parents=True)
        shutil.copy(student_notebook(lesson, lang), source)
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = r'{tmp_path}'\n"
        "c.ClearSolutions.code_stub = {'python': '...'}\n"
    )
    for lesson in LESSONS:
        run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", lesson, "--force"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        released = nbformat.read(tmp_path / "release" / lesson / f"{lesson}.ipynb", as_version=4)
        grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in released.cells if "nbgrader" in c.metadata]
        original = nbformat.read(student_notebook(lesson, lang), as_version=4)
        assert grade_ids == [c.metadata["nbgrader"]["grade_id"] for c in original.cells if "nbgrader" in c.metadata]
