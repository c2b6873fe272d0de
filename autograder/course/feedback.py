"""Moved to ``autograder.grader.feedback``; this name stays for one release: courses built before name it in
their ``nbgrader_config.py`` (``python -m autograder upgrade DIR`` rewrites it)."""

from autograder.grader.feedback import TEMPLATE_NAME, TEMPLATES, FeedbackExporter, HideHiddenTests  # noqa: F401
