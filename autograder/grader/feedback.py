"""Feedback HTML in the course's language, without hidden tests, readable offline.

``nbgrader generate_feedback`` renders each autograded notebook with an nbconvert exporter
and a template. The course's ``nbgrader_config.py`` replaces both:

* :class:`FeedbackExporter` — nbgrader's HTML exporter, but formulas become MathML when the
  HTML is written (browsers draw MathML themselves: no MathJax, no CDN, no internet), and the
  template gets its words in the course's language;
* ``templates/course_feedback`` — nbgrader's feedback template with those words, long output
  lines wrapped instead of scrolled sideways, and no empty "No response." comments;
* :class:`HideHiddenTests` — nbgrader's ``ClearHiddenTests`` for feedback and formgrader: the
  grade cells restored from the gradebook carry the hidden tests, students must not see them.

Everything from the notebook is sanitised (``autograder.grader.sanitize``): markdown through
:meth:`FeedbackExporter.markdown2html`, outputs through nbconvert's ``sanitize_html`` path with the
course's cleaner as its ``clean_html`` filter (JavaScript and widget outputs are then not written).
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade
from traitlets import Bool, Enum, List, Unicode

from autograder.grader.sanitize import clean_html
from autograder.learner.i18n import LANGUAGES, format_number, message

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "course_feedback"

# The template's words, from the course's catalog (texts "feedback.<name>").
WORDS = ("score", "test_cell", "coding_free_response", "written_response", "task", "comment", "late_penalty", "top",
         "students_answer", "students_task", "grade_cell", "comments", "in", "out", "minus")


def words(lang: str) -> dict[str, str]:
    """The feedback template's words in ``lang``."""
    return {name: message(f"feedback.{name}", lang) for name in WORDS}




def number(value: Any, lang: str) -> str:
    """A score as the feedback shows it: the course's one number format (``18``, ``13.5`` / ``13,5``)."""
    return format_number(float(value or 0), lang, decimals=2)


def mathml(tex: str, display: str) -> str:
    """TeX as MathML; TeX the converter cannot read stays visible as code rather than vanishing."""
    try:
        return latex_to_mathml(tex, display=display)
    except Exception:  # noqa: BLE001 - a formula the converter does not know must not stop the feedback
        return f'<code class="tex">{html.escape(tex)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, writing formulas as MathML instead of leaving ``$…$`` to MathJax."""

    def inline_math(self, body: str) -> str:
        return mathml(body, "inline")

    def block_math(self, body: str) -> str:
        return mathml(body, "block")

    def latex_environment(self, name: str, body: str) -> str:
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


class FeedbackExporter(HTMLExporter):
    """The HTML exporter of ``nbgrader generate_feedback`` in a course built by this tool."""

    language = Enum(LANGUAGES, default_value="en", help="language of the feedback's own words").tag(config=True)
    sanitize_html = Bool(True, help="Always on (not configurable): a feedback page shows learner content")
    detail = Enum(("full", "score"), default_value="full", help="full: outputs, messages and comments; score: the "
                  "points of each cell only (grading on submit before the due date, by the course's policy)"
                  ).tag(config=True)

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        """nbconvert's filter (attachments, anchors) with formulas rendered as MathML, then sanitised."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            allow_harmful_protocols=False,
            attachments=cell.get("attachments", {}),
            embed_images=False,  # embedding would copy files of the grader's disk into the page
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return clean_html(MarkdownWithMath(renderer=renderer).render(source))

    def default_filters(self) -> Any:
        yield from super().default_filters()
        yield ("clean_html", clean_html)

    def from_notebook_node(self, nb: NotebookNode, resources: dict | None = None, **kw: Any) -> tuple[str, dict]:
        resources = resources if resources is not None else {}
        lang = self.language
        resources["course_feedback"] = {"lang": lang, "text": words(lang), "number": lambda x: number(x, lang),
                                        "detail": self.detail}
        if self.detail == "score":  # the points only: what the checks and hidden tests said stays hidden
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = []
        replacements = {message(f"feedback.{name}", "en"): message(f"feedback.{name}", lang)
                        for name in ("output_truncated", "traceback_truncated")}  # what nbgrader's LimitOutput wrote
        for old, new in replacements.items():
            if old == new:
                continue
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    if isinstance(output.get("text"), str):
                        output["text"] = output["text"].replace(old, new)
                    if "traceback" in output:
                        output["traceback"] = [line.replace(old, new) for line in output["traceback"]]
        return super().from_notebook_node(nb, resources, **kw)


class HideHiddenTests(ClearHiddenTests):
    """nbgrader's ClearHiddenTests for display: never fails on a learner's own stray marker.

    nbgrader raises on a hidden-test marker outside a grade cell or without its END; in a
    submission that is the learner's text, shown as written. A grade cell whose region is
    not closed shows only what comes before its BEGIN line.
    """

    # An HTML exporter configures NbConvertBase.display_data_priority; accept it quietly (GetGrades does too).
    display_data_priority = List(Unicode()).tag(config=True)

    def _remove_hidden_test_region(self, cell: NotebookNode) -> bool:
        try:
            return super()._remove_hidden_test_region(cell)
        except RuntimeError:
            lines = cell.source.split("\n")
            begin = next(i for i, line in enumerate(lines) if self.begin_test_delimeter in line)
            cell.source = "\n".join(lines[:begin])
            return True

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int) -> tuple[NotebookNode, dict]:
        if is_grade(cell):  # a learner's own cell is shown as the learner wrote it
            self._remove_hidden_test_region(cell)
        return cell, resources


def generate_feedback(work: Path, lesson: str, student: str, detail: str = "full") -> str:
    """nbgrader's ``generate_feedback`` for one student in the course-like folder ``work``, in this process.

    A process of its own would cost ~2 s per submission to start; the converter is nbgrader's own, with
    the course's configuration (templates, preprocessors) loaded as nbgrader loads it. No learner code runs
    here. Returns the reason when it fails ("" when the page was written).
    """
    import logging

    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(work)).load_config()
    config.FeedbackExporter.detail = detail
    coursedir = CourseDirectory(config=config)
    coursedir.root, coursedir.assignment_id, coursedir.student_id = str(work), lesson, student
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    app.log.setLevel(logging.CRITICAL)  # its own failure comes back as an exception
    try:
        app.start()
    except Exception as error:  # noqa: BLE001 - no feedback is a note on the submission, not a lost grade
        return f"{type(error).__name__}: {error}"[:500]
    return ""


def _feedback_folder(work: Path, course_root: Path, lesson: str, student: str, graded: dict[str, Path],
                     gradebook: Path) -> None:
    """A course-like folder ``work`` where nbgrader's GenerateFeedback finds ``graded`` (name: file) as the
    student's autograded lesson, the course's source and configuration, and a writable copy of ``gradebook``."""
    folder = work / "autograded" / student / lesson
    folder.mkdir(parents=True)
    for name, path in graded.items():
        shutil.copyfile(path, folder / name)
    (work / "source").symlink_to(course_root / "source", target_is_directory=True)
    shutil.copyfile(course_root / "nbgrader_config.py", work / "nbgrader_config.py")
    shutil.copyfile(gradebook, work / "gradebook.db")
    (work / "gradebook.db").chmod(0o600)  # the worker's course copy is read-only


WARM_UP_STUDENT = "warm-up"


def warm_up(course_root: Path, lesson: str) -> None:
    """Write one feedback page for ``lesson``'s source notebook in a temporary folder, the way a submission's is
    written, and throw it away: a worker's first page then costs what the others do (nbgrader's converter, the
    gradebook's queries, filters and templates are loaded on the first: ~1 s more on 2 cores)."""
    import tempfile
    import warnings

    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="autograder-warm-feedback-") as folder:
        work = Path(folder)
        source = course_root / "source" / lesson / f"{lesson}.ipynb"
        _feedback_folder(work, course_root, lesson, WARM_UP_STUDENT, {source.name: source},
                         course_root / "gradebook.db")
        with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gradebook, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's note on nbgrader's own add_submission
            gradebook.add_student(WARM_UP_STUDENT)
            gradebook.add_submission(lesson, WARM_UP_STUDENT)
        problem = generate_feedback(work, lesson, WARM_UP_STUDENT)
        if problem:
            raise RuntimeError(problem)


def feedback_page(course_root: Path, job: Path, lesson: str, student: str, detail: str = "full"
                  ) -> tuple[dict[str, bytes], str]:
    """The student's feedback folder made from a finished job's graded notebook; or why there is none.

    Only the notebook (and the two small files nbgrader's release_feedback reads beside the page: the
    submission's time and the secret that names the page in the exchange) goes in: the feedback folder is
    the page, and nbgrader's copying of other files (a glob per file and ignore pattern) takes minutes for
    thousands of files.
    """
    from autograder.grader.folders import read_folder

    work = job / "feedback-work"
    names = (f"{lesson}.ipynb", "timestamp.txt", "submission_secret.txt")
    files = {name: job / "outbox" / "graded" / name for name in names if (job / "outbox" / "graded" / name).is_file()}
    _feedback_folder(work, course_root, lesson, student, files, job / "outbox" / "gradebook.db")
    problem = generate_feedback(work, lesson, student, detail)
    if problem:
        return {}, problem
    return read_folder(work / "feedback" / student / lesson).files, ""
