"""Where the repository's parts are, for the code that runs in a checkout (authoring, course building, grading).

The learner's runtime (``autograder/learner``) never imports this: in a course it is a copy inside a
lesson's folder, and finds its files relative to itself.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "autograder"
LEARNER = PACKAGE / "learner"  # copied into every lesson of a course, as one folder
SOURCES = REPO / "notebooks" / "src"  # the one bilingual source of each lesson
NOTEBOOKS = REPO / "notebooks"  # notebooks/<lang>/<lesson>.ipynb, generated
IMAGES = REPO / "images"
DATA = REPO / "data"
SOLUTIONS = REPO / "solutions"  # the reference: never shipped to students
