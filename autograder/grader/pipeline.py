"""nbgrader's autograde pipeline as this course runs it: nbgrader's own steps plus the course's.

One function sets it on an nbgrader configuration, so a course's ``nbgrader_config.py`` and every
grading job (whatever the age of the course's configuration) run the same steps:

* before execution (``sanitize_preprocessors``): nbgrader's, with ``RobustOverwriteCells`` — a
  copy-pasted check cell or a learner's own "graded" cell no longer stops the whole submission;
* after (``autograde_preprocessors``): ``RobustExecute`` (kernel deaths, memory and time limits, the
  sandbox), nbgrader's ``IgnorePattern`` (TensorFlow's log lines), output limits, and
  ``SanitizeNotebook`` before the graded notebook is saved;
* the pages that show a submission (formgrader's ``HTMLExporter``, the feedback's
  ``FeedbackExporter``) sanitised, see ``autograder.grader.sanitize``.
"""

from __future__ import annotations

from typing import Any

# TensorFlow's C++ log lines go to stderr, and nbgrader scores a grade cell with stderr 0.
TENSORFLOW_LOG = (r"(^|\n)([IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]"
                  r"|WARNING: All log messages before absl|(WARNING|INFO|ERROR):(tensorflow|absl):)")


def autograde_pipeline(c: Any) -> None:
    """Set the course's autograde steps on the nbgrader configuration ``c``."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from autograder.grader.preprocessors import LimitOutputSize, RobustExecute, RobustOverwriteCells, SanitizeNotebook

    c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RobustOverwriteCells,
                                          CheckCellMetadata]
    c.Autograde.autograde_preprocessors = [RobustExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           LimitOutputSize, SanitizeNotebook, SaveAutoGrades, AssignLatePenalties,
                                           CheckCellMetadata]
    # Deleted or edited grade cells are restored from the gradebook and graded as the original.
    c.OverwriteCells.add_missing_cells = True
    c.Execute.interrupt_on_timeout = True
    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = TENSORFLOW_LOG


def safe_pages(c: Any) -> None:
    """Sanitise every page nbgrader renders from a submission (formgrader's view; the feedback does it itself)."""
    c.HTMLExporter.sanitize_html = True  # nbconvert: no JavaScript or widget outputs; HTML through clean_html
    c.HTMLExporter.filters = {"markdown2html": "autograder.grader.sanitize.markdown_to_safe_html",
                              "clean_html": "autograder.grader.sanitize.clean_html"}
    c.FeedbackExporter.filters = {}  # its own markdown2html (formulas as MathML) sanitises already
