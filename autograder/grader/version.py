"""Which code a grading process runs: a worker of another version must not grade."""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


@functools.cache
def fingerprint() -> str:
    """The project's version and a digest of the package's code and data (the reference travels with each job)."""
    try:
        version = metadata.version("resnet-course")
    except metadata.PackageNotFoundError:
        version = "unknown"
    hasher = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".json", ".j2") and "__pycache__" not in path.parts:
            hasher.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return f"{version}+{hasher.hexdigest()[:12]}"
