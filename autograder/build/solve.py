"""Moved to ``autograder.authoring.solve`` (TEMPORARY: for test code being migrated; removed before release)."""

from autograder.authoring.solve import solve, solve_cell, solve_file  # noqa: F401
