"""``python -m autograder.course.nbgrader_cli ARGS``: nbgrader's own command line, started faster.

nbformat imports jsonschema, which imports the optional ``rfc3987_syntax`` package to check
"iri" strings; that package compiles a Lark grammar on import, ~1.3 s of the ~3.5 s it takes
an nbgrader process to start on 2 cores (``python -X importtime -m nbgrader``). The grader
starts one nbgrader process per submission, and nbformat's notebook schema has no "iri"
field, so these processes (and ``python -m autograder``) do without that check.
"""

from __future__ import annotations

import sys

SKIPPED_IMPORTS = ("rfc3987_syntax",)


def skip_slow_imports() -> None:
    """Make ``import rfc3987_syntax`` raise ImportError in this process (call before nbformat is imported)."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def main() -> None:
    skip_slow_imports()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
