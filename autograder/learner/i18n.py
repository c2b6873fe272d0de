"""Language of the learner's notebook, and the messages the checks print in it.

Every message exists in every language (a test enforces it); the texts are the course's one
catalog (``autograder.learner.texts``). A learner's language comes from the notebook itself
(:func:`current_language`), the instructor's command line's from the locale (:func:`cli_language`).

Messages are ``str.format`` templates with two more kinds of field, so that numbers read
right in each language (Babel, from the Unicode CLDR data, decides; no rule is written here):

``{total:n}``
    the number with the language's digit grouping: 23,600,006 in English, 23 600 006 (no-break
    spaces) in Russian.
``{count:plural:# value|# values}``
    the form that agrees with ``count``, ``#`` standing for ``{count:n}``. The forms follow the
    language's CLDR plural categories in CLDR order: English *one|other* ("1 value", "2 values"),
    Russian *one|few|many* («1 значение», «2 значения», «5 значений»; *other*, for fractions, may
    be given as a fourth form and is the last form otherwise).

A float field with a presentation type (``{diff:.4g}``) is written with the language's decimal
sign: 0.25 in English, 0,25 in Russian.

Russian typography: a no-break space (``\\u00a0``) goes before every em dash and between a number and
the noun or unit it counts (``#\\u00a0слой``, ``{limit:.1f}\\u00a0ГиБ``), so that a wrapped line never
starts with a dash or leaves a number behind.
"""

from __future__ import annotations

import json
import numbers
import os
import string
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, get_decimal_symbol

from autograder.learner.texts import ALL_TEXTS

LANGUAGES = ("en", "ru")
LANG_ENV = "RESNET_COURSE_LANG"
LANG_FILE = "course_lang"
SESSION_ENV = "JPY_SESSION_NAME"  # the notebook a JupyterLab kernel runs (jupyter_server sets it)

MESSAGES: dict[str, dict[str, str]] = ALL_TEXTS  # the one catalog: every domain, every language


def notebook_language(path: Path) -> str | None:
    """The language a notebook says it is written in (its metadata ``course.language``), if it says one."""
    try:
        info = path.stat()
    except OSError:
        return None
    return _notebook_language(str(path), info.st_mtime_ns)


@cache
def _notebook_language(path: str, modified: int) -> str | None:  # ``modified``: a saved notebook is read again
    try:
        with open(path, encoding="utf-8") as file:
            language = json.load(file).get("metadata", {}).get("course", {}).get("language")
    except (OSError, ValueError, AttributeError):
        return None
    return language if language in LANGUAGES else None


def current_language(cwd: Path | None = None) -> str:
    """The learner's language: the environment, then the notebook itself, then the course; English otherwise.

    ``RESNET_COURSE_LANG`` chooses explicitly. JupyterLab tells a kernel which notebook it runs
    (``JPY_SESSION_NAME``), and each lesson's notebook names its language in its metadata, so a Russian
    notebook speaks Russian wherever it is opened, a copy downloaded alone included. While nbgrader grades
    (no JupyterLab session) the course's ``course_lang`` file beside the notebook decides.
    """
    env = os.environ.get(LANG_ENV, "").strip().lower()
    if env in LANGUAGES:
        return env
    session = os.environ.get(SESSION_ENV, "")
    if session.endswith(".ipynb"):
        language = notebook_language(Path(session))
        if language:
            return language
    marker = (Path.cwd() if cwd is None else cwd) / LANG_FILE
    if marker.is_file():
        text = marker.read_text(encoding="utf-8").strip().lower()
        if text in LANGUAGES:
            return text
    return "en"


def cli_language() -> str:
    """The language the command line speaks: ``RESNET_COURSE_LANG``, else the locale's (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``), else English."""
    env = os.environ.get(LANG_ENV, "").strip().lower()
    if env in LANGUAGES:
        return env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            code = value.split("_")[0].split(".")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


# CLDR's order of plural categories; a language uses some of them, and always "other".
CLDR_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
PLURAL = "plural:"
NUMBER = "n"


@cache
def plural_categories(lang: str) -> tuple[str, ...]:
    """The CLDR plural categories of ``lang``, in CLDR order: ("one", "other") for English,
    ("one", "few", "many", "other") for Russian."""
    tags = Locale.parse(lang).plural_form.tags
    return tuple(category for category in CLDR_CATEGORIES if category in tags or category == "other")


def plural_category(lang: str, count: float) -> str:
    """The CLDR plural category of ``count`` in ``lang`` ("one", "few", "many", "other", …)."""
    return Locale.parse(lang).plural_form(abs(count))


def format_number(value: Any, lang: str, decimals: int | None = None) -> str:
    """``value`` written as ``lang`` writes numbers (digit grouping, decimal sign); not a number: ``str``.

    The one number formatter of the course: check messages, feedback, report and console all use it (the
    LMS files, read by programs, write a plain dot instead). ``decimals``: at most that many digits after
    the decimal sign, none when they are zero (a score: ``18``, ``13.5``, ``0.25`` / ``13,5``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        value = int(value)  # NumPy integers too
    if decimals is None:
        return format_decimal(value, locale=lang)
    return format_decimal(round(float(value), decimals), format="#,##0." + "#" * decimals if decimals else "#,##0",
                          locale=lang)


class _Formatter(string.Formatter):
    """``str.format`` with the number and plural fields described in the module's docstring."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == NUMBER:
            return format_number(value, self.lang)
        if format_spec.startswith(PLURAL):
            return self._plural(value, format_spec[len(PLURAL):])
        text = super().format_field(value, format_spec)
        if format_spec and format_spec[-1] in "eEfFgG%" and isinstance(value, numbers.Real):
            text = text.replace(".", get_decimal_symbol(self.lang))
        return text

    def _plural(self, value: Any, spec: str) -> str:
        forms = spec.split("|")
        categories = plural_categories(self.lang)
        if not forms or len(forms) > len(categories):
            raise ValueError(f"{len(forms)} plural forms for {self.lang} ({'|'.join(categories)}): {spec!r}")
        category = plural_category(self.lang, value)
        form = forms[min(categories.index(category), len(forms) - 1)]
        return form.replace("#", format_number(value, self.lang))


def message(key: str, lang: str | None = None, **fields: object) -> str:
    """The message ``key`` in ``lang`` (the current language by default), filled with ``fields``."""
    lang = lang or current_language()
    return _Formatter(lang).format(MESSAGES[key][lang], **fields)
