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

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "course_feedback"

# nbgrader's own words in its feedback template (English kept as nbgrader writes them).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "score": "Score", "test_cell": "Test cell", "coding_free_response": "Coding free-response",
        "written_response": "Written response", "task": "Task", "comment": "Comment",
        "late_penalty": "Late submission penalty", "top": "(Top)", "students_answer": "Student's answer",
        "students_task": "Student's task", "grade_cell": "Grade cell", "comments": "Comments:",
        "in": "In&nbsp;", "out": "Out", "minus": "-",
    },
    "ru": {
        "score": "Баллы", "test_cell": "Проверка", "coding_free_response": "Свободный ответ (код)",
        "written_response": "Текстовый ответ", "task": "Задание", "comment": "Комментарий",
        "late_penalty": "Штраф за опоздание", "top": "(к началу)", "students_answer": "Ваш ответ",
        "students_task": "Ваш ответ на задание", "grade_cell": "Ячейка проверки", "comments": "Комментарии:",
        "minus": "−", "in": "", "out": "",  # JupyterLab in Russian numbers cells as [1]: without "In"/"Out"
    },
}

# What nbgrader's LimitOutput writes into truncated outputs.
TRUNCATED = {
    "ru": {"... Output truncated ...": "… вывод сокращён …",
           "... Traceback truncated ...": "… трассировка сокращена …"},
}


def number(value: Any, lang: str) -> str:
    """A score as the feedback shows it: nbgrader's ``| float | round(2)`` in English, ``13,5`` in Russian."""
    rounded = round(float(value or 0), 2)
    if lang == "en":
        return str(rounded)
    return f"{rounded:g}".replace(".", ",").replace("-", "−")


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

    language = Enum(tuple(TEXT), default_value="en", help="language of the feedback's own words").tag(config=True)
    sanitize_html = Bool(True, help="Always on (not configurable): a feedback page shows learner content")

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
        resources["course_feedback"] = {"lang": lang, "text": TEXT[lang], "number": lambda x: number(x, lang)}
        for old, new in TRUNCATED.get(lang, {}).items():
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
