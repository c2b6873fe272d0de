"""Generators of the course's derived files (expected values, notebooks, data, figures).

These modules may import ``solutions``; nothing here is shipped to students.
"""
