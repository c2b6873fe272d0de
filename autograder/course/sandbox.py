"""Moved to ``autograder.grader.sandbox`` (TEMPORARY: for test code being migrated; removed before release)."""

from autograder.grader.sandbox import *  # noqa: F401,F403
from autograder.grader.sandbox import launcher_command  # noqa: F401
