"""``python -m autograder course DIR --lang en|ru``: an nbgrader course, ready to release.

For each lesson, ``source/<lesson>/`` gets the student notebook of the chosen language with
  * every figure embedded as a cell attachment (renders in JupyterLab and in feedback HTML),
  * a hidden part in each grade cell that records the learner's outputs on unseen inputs,
and everything the notebook needs beside it: the runtime part of ``autograder`` (checks,
messages, expected values — never ``solutions``), the data, ``result.md`` and ``course_lang``.
Then ``nbgrader generate_assignment`` fills ``release/``. The course is assembled in a
temporary folder and moved into place only when complete.
"""

from __future__ import annotations

import ast
import base64
import importlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.course import LANGS, REPO, CourseError, lessons
from autograder.i18n import LANG_FILE

COURSE_ID = "resnet-course"
MARKER = "course.json"
# The part of the package a learner's kernel needs; the rest (build tools, grading) stays home.
RUNTIME = ("__init__.py", "i18n.py", "fast_mode.py", "datasets.py", "checks", "expected")
IMG = re.compile(r'<img src="\.\./\.\./images/(?P<lang>en|ru)/(?P<name>[\w.-]+\.png)"[^>]*>')

CONFIG = '''\
# nbgrader configuration written by `python -m autograder course`. The course root is this folder.
from autograder.course.preprocessors import LimitOutputSize, RobustExecute
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{course_id}"

# The source notebooks are already the student versions (stubs, no reference code):
# keep the answer cells as they are; hidden test regions are still removed on release.
c.ClearSolutions.enabled = False

# Deleted or edited grade cells are restored from the gradebook and graded as the original.
c.OverwriteCells.add_missing_cells = True

c.Autograde.autograde_preprocessors = [
    RobustExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, LimitOutputSize,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.Execute.timeout = {timeout}                   # seconds per cell; a stuck cell is interrupted, grading goes on
c.Execute.interrupt_on_timeout = True
c.RobustExecute.language = "{lang}"
c.LimitOutputSize.language = "{lang}"
c.LimitOutputSize.max_chars = 20000
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# TensorFlow's C++ log lines go to stderr, and nbgrader scores a grade cell with stderr 0.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(^|\\n)([IWEF]\\d{{4}} [\\d:.]+ +\\d+ \\S+:\\d+\\]"
    r"|WARNING: All log messages before absl|(WARNING|INFO|ERROR):(tensorflow|absl):)"
)
'''


def _attach_figures(cell: nbformat.NotebookNode, lang: str) -> None:
    """Replace links to the repository's figures by attachments carried inside the notebook."""

    def embed(match: re.Match[str]) -> str:
        name = match.group("name")
        data = (REPO / "images" / lang / name).read_bytes()
        cell.setdefault("attachments", {})[name] = {"image/png": base64.b64encode(data).decode("ascii")}
        return f"![{Path(name).stem.replace('_', ' ')}](attachment:{name})"

    cell.source = IMG.sub(embed, cell.source)


def _with_hidden_test(cell: nbformat.NotebookNode) -> None:
    """Append the hidden recording call to a grade cell ``check.<grade_id>(<function>)``."""
    call = ast.parse(cell.source).body[0].value  # type: ignore[attr-defined]
    argument = call.args[0].id
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    cell.source += (f"\n### BEGIN HIDDEN TESTS\ncheck.record_hidden({grade_id!r}, {argument})\n"
                    "### END HIDDEN TESTS")


def source_notebook(lesson: str, lang: str) -> nbformat.NotebookNode:
    """The course version of a lesson's student notebook."""
    notebook = nbformat.read(REPO / "notebooks" / lang / f"{lesson}.ipynb", as_version=4)
    checks = importlib.import_module(f"autograder.checks.{lesson}")
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            _attach_figures(cell, lang)
        elif cell.metadata.get("nbgrader", {}).get("grade") and hasattr(checks, "record_hidden"):
            _with_hidden_test(cell)
    return notebook


def _copy_runtime(target: Path) -> None:
    package = REPO / "autograder"
    for name in RUNTIME:
        source = package / name
        if source.is_dir():
            shutil.copytree(source, target / "autograder" / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / "autograder").mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / "autograder" / name)


def _write_lesson(root: Path, lesson: str, lang: str) -> None:
    folder = root / "source" / lesson
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(lesson, lang), folder / f"{lesson}.ipynb")
    _copy_runtime(folder)
    shutil.copytree(REPO / "data", folder / "data", ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    for extra in (REPO / "notebooks" / lang).glob("*.md"):
        shutil.copy2(extra, folder / extra.name)
    (folder / LANG_FILE).write_text(lang + "\n", encoding="utf-8")


NBGRADER = (sys.executable, "-m", "autograder.course.nbgrader_cli")  # nbgrader's CLI, started faster


def nbgrader(root: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run an nbgrader command in the course ``root``; raise CourseError with its last log line on failure."""
    run = subprocess.run([*NBGRADER, *args], cwd=root, capture_output=True, text=True,
                         timeout=timeout)
    if run.returncode != 0:
        lines = [line for line in (run.stderr + run.stdout).splitlines() if line.strip()]
        raise CourseError(f"nbgrader {' '.join(args)} failed: {lines[-1] if lines else run.returncode}")
    return run


def build_course(target: Path, lang: str, cell_timeout: int = 120) -> Path:
    """Build a complete course in ``target`` (which must not exist or be empty)."""
    if lang not in LANGS:
        raise CourseError(f"unknown language {lang!r}: choose one of {', '.join(LANGS)}")
    target = target.resolve()
    if target.exists() and any(target.iterdir()):
        raise CourseError(f"{target} already exists and is not empty; choose a new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        (staging / "nbgrader_config.py").write_text(
            CONFIG.format(course_id=COURSE_ID, lang=lang, timeout=cell_timeout), encoding="utf-8")
        for lesson in lessons():
            _write_lesson(staging, lesson, lang)
        (staging / "submitted").mkdir()
        (staging / MARKER).write_text(json.dumps({"course_id": COURSE_ID, "language": lang, "lessons": lessons()},
                                                 indent=1) + "\n", encoding="utf-8")
        for lesson in lessons():
            nbgrader(staging, "generate_assignment", lesson, "--force")
        # The gradebook records absolute paths nowhere, so the finished course can move into place.
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_course(root: Path) -> dict:
    """The course's description; CourseError if ``root`` is not a course built by this tool."""
    marker = root / MARKER
    if not root.is_dir() or not marker.is_file() or not (root / "nbgrader_config.py").is_file():
        raise CourseError(f"{root} is not a course (no {MARKER}); create one with: python -m autograder course DIR")
    return json.loads(marker.read_text(encoding="utf-8"))
