"""The instructor's side: create a course, grade it (in batches or as students submit), report on it.

Runs in the instructor's process. It uses the grading engine (``autograder.grader``) and the learner's
runtime (``autograder.learner``), never the authoring tools or the reference solutions' package.
"""

from __future__ import annotations


class CourseError(Exception):
    """A problem with the instructor's input: one line for stderr, in the command line's language.

    ``key`` names a text of the catalog's ``cli`` domain (``autograder/learner/texts/console.py``).
    """

    def __init__(self, key: str, **fields: object) -> None:
        from autograder.learner.i18n import cli_language, message

        self.key = key
        super().__init__(message(f"cli.{key}", cli_language(), **fields))


def say(key: str, **fields: object) -> str:
    """A text of the catalog's ``cli`` domain in the command line's language."""
    from autograder.learner.i18n import cli_language, message

    return message(f"cli.{key}", cli_language(), **fields)
