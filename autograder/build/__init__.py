"""Moved to ``autograder.authoring`` (TEMPORARY: for test code being migrated; removed before release)."""
