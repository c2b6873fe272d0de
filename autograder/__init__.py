"""Checks, expected values, course build and command-line interface of the ResNet course."""
