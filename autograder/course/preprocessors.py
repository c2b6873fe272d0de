"""Moved to ``autograder.grader.preprocessors``; this name stays for one release: courses built before name it
in their ``nbgrader_config.py`` (``python -m autograder upgrade DIR`` rewrites it)."""

from autograder.grader.preprocessors import LimitOutputSize, RobustExecute  # noqa: F401
