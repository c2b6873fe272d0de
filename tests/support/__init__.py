"""Helpers shared by the tests (servers, browsers, hostile content); not part of the course."""
