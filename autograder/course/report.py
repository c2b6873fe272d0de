"""The class report after grading: ``report.md`` and ``report.png`` in the course folder.

Everything comes from the :class:`~autograder.course.scoreboard.Scoreboard` (scores, pass rates) and
from what grading recorded about each submission (``grading_notes.json``: the grader's notes and the
first line of each failing check) — the graded notebooks are not read again. Learner text quoted here
is made inert for Markdown, HTML and terminals (``autograder.grader.sanitize``); the report's words
come from the course's catalog, its numbers from its one number format.
"""

from __future__ import annotations

import re
import statistics
import textwrap
from collections import Counter
from pathlib import Path

from autograder.course.scoreboard import Row, Scoreboard
from autograder.grader.sanitize import markdown_cell_text, terminal_safe
from autograder.learner.i18n import format_number, message

# A failure message without its numbers and its check's name: the same mistake in different submissions.
NUMBER = re.compile(r"(?<![\w.])-?\d[\d.,]*(?:e-?\d+)?(?![\w])")
CHECK_NAME = re.compile(r"\s—\s")


def score_text(row: Row, lang: str = "en") -> str:
    """``score / max``, then the late penalty where there is one: ``0 / 18 (late penalty −18)``."""
    text = f"{format_number(row.final, lang, 2)} / {format_number(row.max_score, lang, 2)}"
    if row.penalty:
        text += f" ({message('report.late', lang)} −{format_number(row.penalty, lang, 2)})"
    return text


def failure_groups(failures: dict[str, list[str]]) -> Counter[str]:
    """The failing checks' first lines, grouped: numbers blurred to N, the check's name dropped."""
    counter: Counter[str] = Counter()
    for lines in failures.values():
        for line in lines:
            text = CHECK_NAME.split(terminal_safe(line, one_line=True), maxsplit=1)[-1]
            counter[NUMBER.sub("N", text)[:160]] += 1
    return counter


def _figure(path: Path, board: Scoreboard, failures: Counter[str], lang: str) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def t(name: str) -> str:
        return message(f"report.{name}", lang)

    top = failures.most_common(6)
    cells = board.cells
    plt.rcParams["text.parse_math"] = False  # a learner's "$" in a message is text, not a formula to parse
    fig, axes = plt.subplots(1, 3, figsize=(16, max(4.5, 0.32 * len(cells) + 1.5)),
                             gridspec_kw={"width_ratios": [1, 1.2, 1.4]})
    shares = [100 * row.final / row.max_score if row.max_score else 0 for row in board.rows]
    axes[0].hist(shares, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], color="#4c72b0", edgecolor="white")
    axes[0].set(title=t("distribution"), xlabel=t("share"), ylabel=t("number"), xlim=(0, 100))
    axes[0].yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    names = sorted(cells)
    axes[1].barh(names, [100 * cells[n][0] / cells[n][1] for n in names], color="#55a868")
    axes[1].set(title=t("per_cell"), xlabel="%", xlim=(0, 100))
    axes[1].invert_yaxis()
    axes[1].tick_params(axis="y", labelsize=8)
    if top:
        labels = [textwrap.shorten(text, 70) for text, _ in top]
        axes[2].barh(range(len(top)), [count for _, count in top], color="#c44e52")
        axes[2].set_yticks(range(len(top)), ["\n".join(textwrap.wrap(label, 38)) for label in labels], fontsize=7)
        axes[2].invert_yaxis()
    else:
        axes[2].text(0.5, 0.5, t("none"), ha="center", va="center")
        axes[2].set_yticks([])
    axes[2].set(title=t("failures"), xlabel=t("count"))
    axes[2].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _percent(value: float, lang: str) -> str:
    return f"{format_number(value, lang, 1)}\u00a0%" if lang == "ru" else f"{format_number(value, lang, 1)}%"


def write_report(root: Path, board: Scoreboard, notes: dict[str, list[str]], failures: dict[str, list[str]],
                 sandboxed: bool, lang: str) -> Path:
    """Write ``report.md`` and ``report.png``; ``notes`` and ``failures`` by ``student/lesson``."""

    def t(name: str) -> str:
        return message(f"report.{name}", lang)

    groups = failure_groups(failures)
    _figure(root / "report.png", board, groups, lang)
    shares = [100 * row.final / row.max_score for row in board.rows if row.max_score]
    lines = [
        f"# {t('title')}", "",
        f"<!-- {t('generated')} -->", "",
        f"- {t('students')}: {format_number(len(board.rows), lang)}",
        f"- {t('sandboxed') if sandboxed else t('unsandboxed')}",
        f"- {t('mean')}: {_percent(statistics.fmean(shares) if shares else 0, lang)}",
        f"- {t('median')}: {_percent(statistics.median(shares) if shares else 0, lang)}", "",
        f"![{t('figure')}](report.png)", "",
        f"## {t('table')}", "", t("final"), "",
        f"| {t('student')} | {t('lesson')} | {t('score')} | {t('notes')} |", "|---|---|---|---|",
    ]
    for row in board.rows:
        note = markdown_cell_text("; ".join(notes.get(str(row.key), [])))
        lines.append(f"| {markdown_cell_text(row.key.student)} | {row.key.lesson} | {score_text(row, lang)} | {note} |")
    lines += ["", f"## {t('cells')}", "", f"| {t('cell')} | {t('pass_rate')} |", "|---|---|"]
    lines += [f"| {name} | {passed}/{total} |" for name, (passed, total) in sorted(board.cells.items())]
    lines += ["", f"## {t('failures')}", "", f"| {t('count')} | {t('message')} |", "|---|---|"]
    lines += [f"| {count} | {markdown_cell_text(text)} |" for text, count in groups.most_common(10)]
    path = root / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
