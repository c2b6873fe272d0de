"""What grading on submit allows, per lesson: how often, what the feedback shows, which submission counts.

Set in the course's ``course.json`` under ``"on_submit"``: a ``"default"`` and, optionally, one entry
per lesson overriding some of its fields::

    "on_submit": {
      "default": {"submissions": 3, "window_minutes": 60, "extra": "queue",
                  "before_due": "full", "after_due": "full", "final": "last"},
      "residual_units": {"submissions": 5}
    }

* ``submissions`` graded per ``window_minutes`` for each student and lesson (PrairieLearn's "grade once
  every N minutes", otter's rate limit): the grader is not an oracle to be queried in a loop;
* ``extra``: a submission beyond that is ``queue``\\ d (graded as soon as the window allows; a newer one
  replaces a waiting one) or ``refuse``\\ d; either way the student is told, in the course's language,
  when the next graded submission is possible;
* ``before_due`` / ``after_due``: what the feedback shows — ``full`` (every check's message and the
  hidden tests' verdict) or ``score`` (the points of each cell only);
* ``final``: the submission whose grade counts — the ``last`` graded (nbgrader's rule) or the ``best``.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

from autograder.course import CourseError

CHOICES = {"extra": ("queue", "refuse"), "before_due": ("full", "score"), "after_due": ("full", "score"),
           "final": ("last", "best")}


@dataclass(frozen=True)
class Policy:
    submissions: int = 3
    window_minutes: int = 60
    extra: str = "queue"
    before_due: str = "full"
    after_due: str = "full"
    final: str = "last"

    @property
    def window(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.window_minutes)

    def next_allowed(self, graded_times: list[datetime.datetime], now: datetime.datetime) -> datetime.datetime | None:
        """When the next submission may be graded, given the times of those graded (or grading); None: now."""
        recent = sorted(time for time in graded_times if now - time < self.window)
        if len(recent) < self.submissions:
            return None
        return recent[len(recent) - self.submissions] + self.window

    def feedback(self, due: datetime.datetime | None, now: datetime.datetime) -> str:
        """What the feedback page shows now."""
        return self.before_due if due is None or now <= due else self.after_due


def _checked(values: dict, where: str) -> dict:
    known = {field.name: field.type for field in dataclasses.fields(Policy)}
    for name, value in values.items():
        if name not in known:
            raise CourseError("policy_unknown", where=where, name=name)
        if name in CHOICES and value not in CHOICES[name]:
            raise CourseError("policy_choice", where=where, name=name, choices=", ".join(CHOICES[name]))
        if name in ("submissions", "window_minutes") and (isinstance(value, bool) or not isinstance(value, int)
                                                           or value < 1):
            raise CourseError("policy_number", where=where, name=name)
    return values


def policies(course: dict) -> dict[str, Policy]:
    """The policy of every lesson of ``course`` (``course.json`` as ``read_course`` gives it)."""
    settings = course.get("on_submit") or {}
    default = _checked(settings.get("default", {}), "default")
    unknown = set(settings) - {"default", *course["lessons"]}
    if unknown:
        raise CourseError("policy_lesson", names=", ".join(sorted(unknown)))
    return {lesson: Policy(**(default | _checked(settings.get(lesson, {}), lesson))) for lesson in course["lessons"]}
