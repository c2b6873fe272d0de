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
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from autograder.learner.i18n import message

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


def check(what: dict[str, str], uses: Mapping[str, Sequence[Callable[..., Any]]] | None = None) -> Callable[[F], F]:
    """Decorate a grade-cell check: quiet stderr, short failure, a confirmation on success.

    ``what`` names the check for the learner in each language, e.g.
    ``{"en": "identity_block, training=False", "ru": "identity_block, training=False"}``.
    ``uses`` maps the earlier exercises that the checked one may call to their own checks: when
    the check fails and one of those is undefined or fails its checks, the learner is told to fix
    that one first instead of being shown where the error surfaced in the part they completed.
    """

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> None:
            from autograder.learner.i18n import current_language

            label = what[current_language()]
            try:
                with quiet_stderr():
                    body(*args, **kwargs)
            except CheckFailed as failure:
                text = str(failure)
                if uses and args:
                    text = used_exercise_problem(args[0], uses) or text
                # Re-raised from here so the traceback is one frame deep, not the whole checker.
                raise CheckFailed(message("check_failed", label=label, text=text)) from None
            print(message("passed", what=label))

        run.__wrapped_check__ = True  # type: ignore[attr-defined]
        run.__check_label__ = what  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


# learner -> {(checks, language): verdict}: the grade cells of one exercise ask about the same block in turn.
_VERDICTS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, str], str | None]] = weakref.WeakKeyDictionary()


def first_failure(checks: Sequence[Callable[..., Any]], learner: Any) -> str | None:
    """The failure text ("label — message") of the first of ``checks`` that ``learner`` fails, silently."""
    from autograder.learner.i18n import current_language

    key = (tuple(checks), current_language())
    try:
        verdicts = _VERDICTS.setdefault(learner, {})
    except TypeError:  # not weakly referable: nothing to remember it by
        verdicts = {}
    if key not in verdicts:
        verdicts[key] = _first_failure(checks, learner)
    return verdicts[key]


def _first_failure(checks: Sequence[Callable[..., Any]], learner: Any) -> str | None:
    from autograder.learner.i18n import current_language

    for grade_check in checks:
        body = getattr(grade_check, "__wrapped__", grade_check)
        try:
            with quiet_stderr(), contextlib.redirect_stdout(io.StringIO()):
                body(learner)
        except CheckFailed as failure:
            label = getattr(grade_check, "__check_label__", {}).get(current_language())
            return message("check_failed", label=label, text=str(failure)) if label else str(failure)
    return None


def _names_and_namespace(learner: Any) -> tuple[set[str], dict[str, Any]] | None:
    """The global names a learner's function (or the methods of a learner's class) refers to, and its globals."""
    functions = [learner] if not isinstance(learner, type) else [
        value for value in vars(learner).values() if hasattr(value, "__code__")]
    codes = [function.__code__ for function in functions if hasattr(function, "__code__")]
    if not codes:
        return None
    names: set[str] = set()
    pending = list(codes)
    while pending:  # nested functions and comprehensions keep their names in their own code objects
        code = pending.pop()
        names.update(code.co_names)
        pending.extend(const for const in code.co_consts if inspect.iscode(const))
    return names, functions[0].__globals__


def used_exercise_problem(learner: Any, uses: Mapping[str, Sequence[Callable[..., Any]]]) -> str | None:
    """If ``learner`` calls an earlier exercise that is not defined or fails its own checks: say to fix that first."""
    found = _names_and_namespace(learner)
    if found is None:
        return None
    names, namespace = found
    caller = getattr(learner, "__name__", "?")
    for name, checks in uses.items():
        if name not in names:
            continue
        if name not in namespace:
            return message("uses_undefined", caller=caller, name=name)
        problem = first_failure(checks, namespace[name])
        if problem:
            return message("uses_failing", caller=caller, name=name, detail=problem)
    return None


def say(key: str, **fields: object) -> str:
    """A line that a lesson's own code prints, in the learner's language: ``print(check.say("layers", count=n))``."""
    return message(key, **fields)


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
    return _quote_line(function, code, line)


def _quote_line(function: Any, code: Any, line: int) -> str:
    """Line ``line`` of the file of ``code`` as "Line N of the function: `…`", N counted from the ``def``."""
    text = linecache.getline(code.co_filename, line).strip()
    if not text:
        try:
            lines, start = inspect.getsourcelines(function)
            text = lines[line - start].strip()
        except (OSError, TypeError, IndexError):
            text = "…"
    return message("at_line", line=line - code.co_firstlineno + 1, code=text)


def running_line(function: Any) -> str:
    """The line of the learner's ``function`` running now (for code that ``function`` calls), quoted; or ""."""
    code = getattr(function, "__code__", None)
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not code:
        frame = frame.f_back
    return "" if frame is None or code is None else _quote_line(function, code, frame.f_lineno)


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


# The exercises of the lessons imported in this kernel: a NameError for one of them means its cell failed.
EXERCISE_NAMES: set[str] = set()


def undefined_exercise(error: BaseException) -> str | None:
    """The exercise that ``error`` (a NameError) says is not defined, if it is one of the lessons' exercises."""
    if not isinstance(error, NameError):
        return None
    name = getattr(error, "name", None)
    if name is None:  # NameErrors raised by hand carry only their text
        found = re.match(r"name '(\w+)' is not defined", str(error))
        name = found.group(1) if found else None
    return name if name in EXERCISE_NAMES else None


def install_ipython_display(exercises: Iterable[str] = ()) -> None:
    """Show a failed check as its message alone, not a traceback into the checker; and when a cell uses an
    exercise that is not defined (its answer cell failed to run), say so in the learner's language.

    A grade cell ``check.identity_block_shape(identity_block)`` raises the NameError while Python
    evaluates the argument, before any check runs, so only the kernel can catch it. The cell still
    ends in an error (nbgrader scores it 0); only the display is clearer. Other NameErrors keep
    IPython's own traceback.
    """
    EXERCISE_NAMES.update(exercises)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "_showtraceback"):
        return

    def show(shell: Any, etype: type, evalue: BaseException, tb: Any, tb_offset: int | None = None) -> None:
        red, reset = "\x1b[1;31m", "\x1b[0m"
        if isinstance(evalue, CheckFailed):
            shell._showtraceback(etype, evalue, [f"{red}✘ {evalue}{reset}"])
            return
        name = undefined_exercise(evalue)
        if name is None:
            shell.showtraceback((etype, evalue, tb), tb_offset=tb_offset)
            return
        text = message("not_defined", name=name)
        shell._showtraceback(etype, text, [f"{red}✘ {text}{reset}"])

    shell.set_custom_exc((CheckFailed, NameError), show)
