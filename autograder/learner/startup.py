"""Start TensorFlow without its start-up log lines; called by the first code cell of every lesson.

TensorFlow 2.21 writes from C++ straight to file descriptor 2 while it is imported and when it
first looks for devices, before absl's logging is initialised and so whatever
``TF_CPP_MIN_LOG_LEVEL`` says: absl's "All log messages before absl::InitializeLog() …" banner,
the oneDNN and CPU-feature notes, "Could not find cuda drivers" and, without a GPU, ``E0000 …
failed call to cuInit``. In JupyterLab each is a red stderr box under the student's first cell.
:func:`quiet_tensorflow_start` imports TensorFlow and Keras and lists the devices with fd 2
pointed at a temporary file, then writes back to stderr every line that is not such start-up
noise: an error, a traceback or a Python warning still shows. Only the standard library is
imported at module level.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
DEFAULT_LEVEL = "2"  # hide TensorFlow's INFO and WARNING lines, keep ERROR and FATAL
# absl/TensorFlow log line: severity, date (0000 before absl is initialised), time, thread, file:line]
LOG_LINE = re.compile(r"^(?P<severity>[IWEF])\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# ERROR lines TensorFlow prints on every machine without a usable GPU, then goes on with the CPU.
NO_GPU_ERRORS = re.compile(r"failed call to cuInit|Unable to register cu(DNN|FFT|BLAS) factory")
_started = False


def startup_noise(text: str, min_level: int) -> list[bool]:
    """For each line of ``text`` (what fd 2 received), whether it is start-up noise to drop.

    A log record is its first line plus the lines after it that do not start a record (the
    CPU-feature note spans two lines). Records below ``min_level`` are noise, and so are the
    no-GPU errors while ``min_level`` hides warnings; text outside records is never noise.
    """
    verdicts: list[bool] = []
    record_is_noise = False
    for line in text.splitlines():
        head = LOG_LINE.match(line)
        if head:
            severity = SEVERITY[head.group("severity")]
            record_is_noise = severity < min_level or (min_level >= 2 and bool(NO_GPU_ERRORS.search(line)))
            verdicts.append(record_is_noise)
        elif line.strip() == BANNER:
            record_is_noise = False
            verdicts.append(True)
        else:
            verdicts.append(record_is_noise)
    return verdicts


def without_startup_noise(text: str, min_level: int) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(line for line, noise in zip(lines, startup_noise(text, min_level), strict=True) if not noise)


@contextlib.contextmanager
def filtered_stderr(min_level: int) -> Iterator[None]:
    """Point fd 2 at a temporary file; afterwards write what it got, less the noise, to ``sys.stderr``."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (an embedded interpreter): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as sink:
        for stream in (sys.stderr, sys.__stderr__):
            if stream is not None:
                stream.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            for stream in (sys.stderr, sys.__stderr__):  # Python text written meanwhile goes to the file too
                if stream is not None:
                    stream.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept = without_startup_noise(sink.read().decode("utf-8", errors="replace"), min_level)
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def quiet_tensorflow_start() -> None:
    """Import TensorFlow and Keras and find the devices, keeping their start-up log lines off stderr.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless the environment already chose a level (0 shows
    everything). Safe to call again: TensorFlow is imported once.
    """
    os.environ.setdefault(LEVEL_ENV, DEFAULT_LEVEL)
    try:
        min_level = int(os.environ[LEVEL_ENV])
    except ValueError:
        min_level = int(DEFAULT_LEVEL)
    global _started
    if _started:
        return
    with filtered_stderr(min_level):
        tensorflow = importlib.import_module("tensorflow")
        importlib.import_module("keras")
        tensorflow.config.list_physical_devices()  # the first device query is what tries cuInit
    _started = True
