"""The machinery shared by every lesson's checks.

A check is a function called from one grade cell. It passes quietly with a one-line
confirmation, or raises :class:`CheckFailed` whose text says — in the learner's language —
what was expected, what was found, and where. nbgrader scores a grade cell 0 when it
raises or writes to stderr, so checks keep TensorFlow's own log lines out of the cell.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import linecache
import os
import re
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from autograder.i18n import message

F = TypeVar("F", bound=Callable[..., Any])


class CheckFailed(AssertionError):
    """A check did not pass; the text is meant for the learner."""


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Swallow Python warnings and native (C++) log lines written to file descriptor 2.

    TensorFlow logs from C++ straight to fd 2, past ``sys.stderr``; in a grade cell any such
    line would zero the cell, so the descriptor is pointed at a temporary file meanwhile.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (embedded interpreters): nothing to redirect
            yield
            return
        with tempfile.TemporaryFile() as sink, contextlib.redirect_stderr(io.StringIO()):
            sys.__stderr__.flush()
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)


def check(what: dict[str, str]) -> Callable[[F], F]:
    """Decorate a grade-cell check: quiet stderr, short failure, a confirmation on success.

    ``what`` names the check for the learner in each language, e.g.
    ``{"en": "identity_block, training=False", "ru": "identity_block, training=False"}``.
    """

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> None:
            from autograder.i18n import current_language

            label = what[current_language()]
            try:
                with quiet_stderr():
                    body(*args, **kwargs)
            except CheckFailed as failure:
                # Re-raised from here so the traceback is one frame deep, not the whole checker.
                raise CheckFailed(f"{label} — {failure}") from None
            print(message("passed", what=label))

        run.__wrapped_check__ = True  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


def fail(key: str, **fields: object) -> None:
    """Raise :class:`CheckFailed` with message ``key`` in the learner's language."""
    raise CheckFailed(message(key, **fields))


def call_student(function: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's ``function``; turn every way it can go wrong into a clear failure."""
    if not callable(function):
        fail("not_callable", name=name, found=type(function).__name__)
    try:
        result = function(*args, **kwargs)
    except CheckFailed:
        raise
    except Exception as error:  # noqa: BLE001 - any error in learner code becomes feedback
        text = message("raised", name=name, exc=type(error).__name__, msg=_plain_error_text(error))
        where = _learner_line(error, function)
        if where:
            text += "\n" + where
        if _looks_like_stub_error(error):
            text += "\n" + message("stub_hint")
        raise CheckFailed(text) from None
    if result is None:
        fail("returned_none", name=name)
    if result is Ellipsis or (isinstance(result, (tuple, list)) and any(part is Ellipsis for part in result)):
        fail("returned_ellipsis", name=name)
    return result


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain_error_text(error: BaseException) -> str:
    """The error's own text: without terminal colours, and without the frame Keras 3 puts around
    errors raised inside a layer's ``call`` ("Exception encountered when calling …", "Arguments received …")."""
    text = _ANSI.sub("", str(error)).strip()
    if text.startswith("Exception encountered when calling"):
        parts = [part.strip() for part in text.split("\n\n")]
        if len(parts) >= 2 and parts[1]:
            return parts[1]
    return text


def _looks_like_stub_error(error: Exception) -> bool:
    text = str(error).lower()
    return "ellipsis" in text or "'...'" in text


def _learner_line(error: BaseException, function: Any) -> str:
    """The last line of the learner's own cell that the error passed through, quoted."""
    code = getattr(function, "__code__", None)
    if code is None:
        return _learner_line_in_class(error, function)
    line = None
    for frame, number in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == code.co_filename:
            line = number
    if line is None:
        return ""
    text = linecache.getline(code.co_filename, line).strip()
    if not text:
        try:
            lines, start = inspect.getsourcelines(function)
            text = lines[line - start].strip()
        except (OSError, TypeError, IndexError):
            return message("at_line", line=line - code.co_firstlineno + 1, code="…")
    return message("at_line", line=line - code.co_firstlineno + 1, code=text)


def _learner_line_in_class(error: BaseException, obj: Any) -> str:
    """For a learner's class (or an instance of it): the last line of its own methods the error passed through."""
    cls = obj if isinstance(obj, type) else type(obj)
    methods = {value.__code__: name for name, value in vars(cls).items() if hasattr(value, "__code__")}
    found = None
    for frame, number in traceback.walk_tb(error.__traceback__):
        if frame.f_code in methods:
            found = (frame.f_code, number)
    if found is None:
        return ""
    code, line = found
    text = linecache.getline(code.co_filename, line).strip() or "…"
    return message("at_line_method", method=methods[code], line=line - code.co_firstlineno + 1, code=text)


def install_ipython_display() -> None:
    """Show a failed check as its message alone, not a traceback into the checker.

    The cell still ends in an error (nbgrader scores it 0); only the display is shorter.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "_showtraceback"):
        return

    def show(shell: Any, etype: type, evalue: BaseException, tb: Any, tb_offset: int | None = None) -> None:
        red, reset = "\x1b[1;31m", "\x1b[0m"
        shell._showtraceback(etype, evalue, [f"{red}✘ {evalue}{reset}"])

    shell.set_custom_exc((CheckFailed,), show)
