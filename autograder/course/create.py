"""``python -m autograder course DIR --lang en|ru``: an nbgrader course, ready to release.

For each lesson, ``source/<lesson>/`` gets the student notebook of the chosen language with
  * every figure embedded as a cell attachment (renders in JupyterLab and in feedback HTML),
  * a hidden part in each grade cell that records the learner's outputs on unseen inputs,
and everything the notebook needs beside it: the runtime part of ``autograder`` (checks,
messages, expected values — never ``solutions``), the data, ``result.md`` and ``course_lang``.
Then ``nbgrader generate_assignment`` fills ``release/``. The course is assembled in a
temporary folder and moved into place only when complete. ``nbgrader_config.py`` names the
course id, the exchange and the late penalty; ``for_students/nbgrader_config.py`` is what the
students' Jupyter needs to find the course in the exchange.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade

from autograder import paths
from autograder.course import CourseError, say
from autograder.course.permissions import group_id, make_private, open_to_others, prepare_exchange
from autograder.grader.limits import DEFAULT
from autograder.grader.nbgrader_cli import NbgraderFailed, run_nbgrader
from autograder.learner.i18n import LANG_FILE, LANGUAGES
from autograder.learner.lesson import NAMES as LESSONS

# The course id before each course got its own (course.json names it; use read_course(root)["course_id"]).
COURSE_ID = "resnet-course"
MARKER = "course.json"

CONFIG = '''\
# nbgrader configuration written by `python -m autograder course` (configuration {version}).
# The course root is this folder. `python -m autograder upgrade DIR` rewrites it for a newer version.
from autograder.grader.feedback import TEMPLATE_NAME, TEMPLATES, FeedbackExporter, HideHiddenTests
from autograder.course.exchange import VerifiedCollect
from autograder.grader.pipeline import autograde_pipeline, safe_pages

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
{exchange}
# A submission after the due date (`nbgrader db assignment add LESSON --duedate=...`): "none" or "zero".
c.LateSubmissionPlugin.penalty_method = {late_penalty!r}

# The source notebooks are already the student versions (stubs, no reference code):
# keep the answer cells as they are; hidden test regions are still removed on release.
c.ClearSolutions.enabled = False

# nbgrader's autograde steps plus the course's (see autograder/grader/pipeline.py): kernel deaths and
# limits survived, a copy-pasted check cell tolerated, the graded notebook stored sanitised.
autograde_pipeline(c)
c.Execute.timeout = {timeout}                   # seconds per cell; a stuck cell is interrupted, grading goes on
# Learners' kernels in the bubblewrap sandbox, also when nbgrader autogrades by hand (formgrader's button).
# Grade with `python -m autograder grade`: only it checks the hidden tests and bounds each submission.
c.RobustExecute.sandbox = True
c.RobustExecute.language = "{lang}"
c.LimitOutputSize.language = "{lang}"
c.SanitizeNotebook.language = "{lang}"

# Every page that shows a submission is sanitised: formgrader's view (here) and the feedback HTML.
safe_pages(c)

# `nbgrader collect` believes the file system, not the submission: who owns it and when it last
# changed (autograder/course/exchange.py).
c.ExchangeFactory.collect = VerifiedCollect

# Feedback HTML in the course's language, formulas as MathML (no internet needed), without the
# hidden tests; formgrader (an HTMLExporter too) hides them from graders' pages as well.
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = TEMPLATE_NAME
c.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES)]
c.FeedbackExporter.language = "{lang}"
c.HTMLExporter.preprocessors = [HideHiddenTests]
'''
CONFIG_VERSION = 2  # 1: before pages were sanitised (no version line)

STUDENT_CONFIG = '''\
# nbgrader configuration for the students of the course {course_id!r}, written by `python -m autograder course`.
# Put it in each student's ~/.jupyter/nbgrader_config.py, or for every user of a JupyterHub in
# /etc/jupyter/nbgrader_config.py. Then the students' nbgrader (the Assignments tab, or
# `nbgrader fetch_assignment LESSON`) finds the course.
# Конфигурация nbgrader для студентов курса {course_id!r}: положите этот файл в ~/.jupyter/nbgrader_config.py
# каждого студента или, для всех пользователей JupyterHub, в /etc/jupyter/nbgrader_config.py.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
{exchange}'''

LATE_PENALTIES = ("none", "zero")  # nbgrader's LateSubmissionPlugin.penalty_method
# nbgrader puts the course id into folder names of the exchange: a safe folder name, and no "+"
# (which separates the parts of a submission's name there).
COURSE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _with_hidden_test(cell: nbformat.NotebookNode) -> None:
    """Append the hidden recording call to a grade cell ``check.<grade_id>(<function>)``."""
    call = ast.parse(cell.source).body[0].value  # type: ignore[attr-defined]
    argument = call.args[0].id
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    cell.source += (f"\n### BEGIN HIDDEN TESTS\ncheck.record_hidden({grade_id!r}, {argument})\n"
                    "### END HIDDEN TESTS")


def source_notebook(lesson: str, lang: str) -> nbformat.NotebookNode:
    """The course version of a lesson's student notebook (figures already inside): hidden tests in grade cells."""
    notebook = nbformat.read(paths.NOTEBOOKS / lang / f"{lesson}.ipynb", as_version=4)
    for cell in notebook.cells:
        if is_grade(cell):
            _with_hidden_test(cell)
    return notebook


def _copy_runtime(target: Path) -> None:
    """The learner's runtime, as one folder: ``autograder/learner`` (and the package's own ``__init__``)."""
    (target / "autograder").mkdir(parents=True)
    shutil.copy2(paths.PACKAGE / "__init__.py", target / "autograder" / "__init__.py")
    shutil.copytree(paths.LEARNER, target / "autograder" / "learner", ignore=shutil.ignore_patterns("__pycache__"))


def _write_lesson(root: Path, lesson: str, lang: str) -> None:
    folder = root / "source" / lesson
    folder.mkdir(parents=True)
    nbformat.write(source_notebook(lesson, lang), folder / f"{lesson}.ipynb")
    _copy_runtime(folder)
    shutil.copytree(paths.DATA, folder / "data", ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    for extra in (paths.NOTEBOOKS / lang).glob("*.md"):
        shutil.copy2(extra, folder / extra.name)
    (folder / LANG_FILE).write_text(lang + "\n", encoding="utf-8")


def nbgrader(root: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run an nbgrader command in the course ``root``; raise CourseError with nbgrader's own error on failure."""
    try:
        return run_nbgrader(root, *args, timeout=timeout)
    except NbgraderFailed as failure:
        raise CourseError("nbgrader_failed", command=failure.command, cause=failure.cause) from None


def default_course_id(target: Path) -> str:
    """A readable course id unique to the folder: its name, made safe, and a short hash of its path.

    Two courses called ``ml`` in two instructors' homes get different ids, so they can share
    one exchange; rebuilding a course in the same folder keeps its id.
    """
    target = target.expanduser().resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", target.name).strip("-._")[:40] or "course"
    return f"{name}-{hashlib.sha256(str(target).encode()).hexdigest()[:6]}"


def check_course_id(course_id: str) -> str:
    if not COURSE_ID_PATTERN.fullmatch(course_id):
        raise CourseError("bad_course_id", course_id=course_id)
    return course_id


def _exchange_line(exchange: Path | None) -> str:
    if exchange is None:
        return "# c.Exchange.root: nbgrader's default exchange (/usr/local/share/nbgrader/exchange)\n"
    return f"c.Exchange.root = {str(exchange)!r}\n"


def build_course(target: Path, lang: str, cell_timeout: int = DEFAULT.cell_timeout, course_id: str | None = None,
                 exchange: Path | None = None, late_penalty: str = "none", group: str | None = None) -> Path:
    """Build a complete course in ``target`` (which must not exist or be empty).

    ``course_id`` defaults to :func:`default_course_id`; ``exchange`` is the folder nbgrader's
    release, submit, collect and feedback commands share (it may exist already and hold other
    courses; the course's own folders in it are made here, the instructor's); ``late_penalty`` is
    nbgrader's penalty method for a submission after the due date, ``none`` or ``zero``; ``group``
    may read the course besides the instructor (teaching assistants). Nobody else can.
    """
    if lang not in LANGUAGES:
        raise CourseError("unknown_language", value=lang, choices=", ".join(LANGUAGES))
    if late_penalty not in LATE_PENALTIES:
        raise CourseError("unknown_penalty", value=late_penalty, choices=", ".join(LATE_PENALTIES))
    target = target.expanduser().resolve()
    course_id = check_course_id(course_id if course_id is not None else default_course_id(target))
    if exchange is not None:
        exchange = exchange.expanduser().resolve()
        if exchange.exists() and not exchange.is_dir():
            raise CourseError("exchange_not_folder", path=exchange)
    if target.exists() and any(target.iterdir()):
        raise CourseError("target_not_empty", path=target)
    group_id(group)  # an unknown group is reported before anything is made
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        (staging / "nbgrader_config.py").write_text(
            CONFIG.format(course_id=course_id, lang=lang, timeout=cell_timeout, exchange=_exchange_line(exchange),
                          late_penalty=late_penalty, version=CONFIG_VERSION), encoding="utf-8")
        (staging / "for_students").mkdir()
        (staging / "for_students" / "nbgrader_config.py").write_text(
            STUDENT_CONFIG.format(course_id=course_id, exchange=_exchange_line(exchange)), encoding="utf-8")
        for lesson in LESSONS:
            _write_lesson(staging, lesson, lang)
        (staging / "submitted").mkdir()
        description = {"course_id": course_id, "language": lang, "lessons": list(LESSONS),
                       "exchange": str(exchange) if exchange else None, "late_penalty": late_penalty,
                       "group": group, "config_version": CONFIG_VERSION}
        (staging / MARKER).write_text(json.dumps(description, indent=1) + "\n", encoding="utf-8")
        for lesson in LESSONS:
            nbgrader(staging, "generate_assignment", lesson, "--force")
        make_private(staging, group)
        if exchange is not None:
            prepare_exchange(exchange, course_id)
        # The gradebook records absolute paths nowhere, so the finished course can move into place.
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_course(root: Path) -> dict:
    """The course's description (course_id, language, lessons, exchange, late_penalty).

    CourseError if ``root`` is not a course built by this tool.
    """
    marker = root / MARKER
    if not root.is_dir() or not marker.is_file() or not (root / "nbgrader_config.py").is_file():
        raise CourseError("not_a_course", path=root, marker=MARKER)
    description = json.loads(marker.read_text(encoding="utf-8"))
    # Courses built before these options existed: nbgrader's defaults, which their config kept.
    return {"course_id": COURSE_ID, "exchange": None, "late_penalty": "none", "group": None,
            "config_version": 1} | description


def upgrade_course(root: Path, group: str | None = None) -> list[str]:
    """Bring a course built by an older version up to this one; what was changed, one line each.

    Its ``nbgrader_config.py`` is rewritten with the same course id, exchange, late penalty and cell
    timeout (the old one kept as ``nbgrader_config.py.v<N>``): formgrader and nbgrader then sanitise
    what they show and collect through :class:`VerifiedCollect`. The folder becomes the instructor's
    (and ``group``'s) alone, and the course's folders in the exchange are checked and made safe.
    Gradebook, sources, submissions and grades are left as they are.
    """
    course = read_course(root)
    group = group or course["group"]
    group_id(group)
    changes = []
    config = root / "nbgrader_config.py"
    if course["config_version"] < CONFIG_VERSION:
        text = config.read_text(encoding="utf-8")
        found = re.search(r"^c\.Execute\.timeout = (\d+)", text, re.MULTILINE)
        timeout = int(found.group(1)) if found else DEFAULT.cell_timeout
        backup = root / f"nbgrader_config.py.v{course['config_version']}"
        shutil.copy2(config, backup)
        exchange = Path(course["exchange"]) if course["exchange"] else None
        config.write_text(CONFIG.format(course_id=course["course_id"], lang=course["language"], timeout=timeout,
                                        exchange=_exchange_line(exchange), late_penalty=course["late_penalty"],
                                        version=CONFIG_VERSION), encoding="utf-8")
        changes.append(say("upgrade_config", version=CONFIG_VERSION, backup=backup.name))
    if open_to_others(root) or group != course["group"]:
        changes.append(say("upgrade_private_group", group=group) if group else say("upgrade_private"))
    make_private(root, group)
    if course["exchange"]:
        prepare_exchange(Path(course["exchange"]), course["course_id"])
    if changes:
        marker = root / MARKER
        description = json.loads(marker.read_text(encoding="utf-8"))
        description |= {"group": group, "config_version": CONFIG_VERSION}
        marker.write_text(json.dumps(description, indent=1) + "\n", encoding="utf-8")
    return changes
