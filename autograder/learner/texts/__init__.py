"""The course's one catalog of user-facing text, by domain; every entry in every language (a test checks it).

``checks`` (what the checks, the lessons and the grader's notes say), ``pages`` (the feedback page and
the class report), ``console`` (the command line). Keys are unique across domains; the pages' and the
console's carry their domain as a prefix (``report.title``, ``cli.graded``).
"""

from autograder.learner.texts import checks, console, pages

ALL_TEXTS: dict[str, dict[str, str]] = {}
for _domain in (checks, pages, console):
    _clash = set(ALL_TEXTS) & set(_domain.TEXTS)
    if _clash:
        raise KeyError(f"text keys defined twice: {sorted(_clash)}")
    ALL_TEXTS.update(_domain.TEXTS)
