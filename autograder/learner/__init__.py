"""What a learner's notebook imports: checks, texts, datasets, fast mode.

Copied into every lesson; imports nothing else of the package.
"""
