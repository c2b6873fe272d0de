"""Moved to ``autograder.course.create`` (TEMPORARY: for test code being migrated; removed before release)."""

from autograder.course.create import *  # noqa: F401,F403
from autograder.course.create import COURSE_ID, build_course, default_course_id, nbgrader, read_course  # noqa: F401
from autograder.grader.nbgrader_cli import NBGRADER  # noqa: F401
