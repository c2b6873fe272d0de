"""The class report after grading: ``report.md`` and ``report.png`` in the course folder."""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
from babel.numbers import format_decimal
from nbgrader.api import Gradebook

from autograder.course.build import read_course
from autograder.grader.sanitize import markdown_cell_text, terminal_safe

TEXT = {
    "en": {
        "title": "Class report", "students": "Submissions", "mean": "Mean score", "median": "Median score",
        "score": "score", "max": "max", "notes": "notes", "student": "student", "lesson": "lesson",
        "cell": "grade cell", "pass_rate": "pass rate", "failures": "Most frequent failure messages",
        "count": "count", "message": "message", "distribution": "Score distribution", "share": "score, % of maximum",
        "number": "submissions", "per_cell": "Pass rate per grade cell", "figure": "Figure",
        "table": "Scores", "cells": "Grade cells", "none": "no failures", "late": "late penalty",
        "final": "Scores are final: what nbgrader's grades.csv says (raw score minus any late penalty).",
    },
    "ru": {
        "title": "Отчёт по группе", "students": "Сдано работ", "mean": "Средний балл", "median": "Медиана",
        "score": "баллы", "max": "максимум", "notes": "примечания", "student": "студент", "lesson": "занятие",
        "cell": "ячейка проверки", "pass_rate": "доля успешных работ", "failures": "Самые частые сообщения об ошибках",
        "count": "число случаев", "message": "сообщение", "distribution": "Распределение баллов",
        "share": "балл, % от максимума", "number": "число работ",
        "per_cell": "Доля успешных работ по ячейкам проверки",
        "figure": "Рисунок", "table": "Баллы", "cells": "Ячейки проверки", "none": "ошибок нет",
        "late": "штраф за опоздание",
        "final": "Итоговые баллы совпадают с данными файла grades.csv, который формирует nbgrader: это набранные "
                 "баллы за вычетом штрафа за опоздание, если он есть.",
    },
}


@dataclass
class Row:
    """One submission. ``score`` is the final score, as nbgrader's grades.csv has it."""

    student: str
    lesson: str
    raw_score: float
    penalty: float
    max_score: float

    @property
    def score(self) -> float:
        return max(0.0, self.raw_score - self.penalty)  # nbgrader's CsvExportPlugin computes it so


def _number(value: float, lang: str) -> str:
    return f"{value:g}".replace(".", ",") if lang == "ru" else f"{value:g}"


def _percent(value: float, lang: str) -> str:
    """A percentage with one decimal, as the language writes it: 72.3 in English, 72,3 in Russian."""
    return format_decimal(value, format="0.0", locale=lang)


def score_text(row: Row, lang: str = "en") -> str:
    """``score / max``, then the late penalty where there is one: ``0 / 18 (late penalty −18)``."""
    text = f"{_number(row.score, lang)} / {_number(row.max_score, lang)}"
    if row.penalty:
        text += f" ({TEXT[lang]['late']} −{_number(row.penalty, lang)})"
    return text


def _failure_messages(root: Path) -> Counter[str]:
    """First line of every failing grade cell's error, with numbers and quoted code blurred for grouping."""
    counter: Counter[str] = Counter()
    for path in sorted((root / "autograded").glob("*/*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    text = terminal_safe(output.evalue.splitlines()[0] if output.evalue else output.ename)
                    if output.ename == "CheckFailed":
                        text = re.split(r"\s—\s", text, maxsplit=1)[-1]  # drop the check's name: group the same mistake
                    counter[re.sub(r"(?<![\w.])-?\d[\d.,]*(?:e-?\d+)?(?![\w])", "N", text)[:160]] += 1
                    break
    return counter


def collect(root: Path) -> tuple[list[Row], dict[str, tuple[int, int]]]:
    """Scores per submission, and (passed, total) per ``lesson/grade cell``."""
    rows, cells = [], {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", read_course(root)["course_id"]) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                rows.append(Row(submission.student.id, assignment.name, submission.score,
                                submission.late_submission_penalty or 0.0, submission.max_score))
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        key = f"{assignment.name}/{grade.name}"
                        passed, total = cells.get(key, (0, 0))
                        cells[key] = (passed + (grade.score >= grade.max_score), total + 1)
    return sorted(rows, key=lambda r: (r.lesson, r.student)), cells


def _figure(path: Path, rows: list[Row], cells: dict[str, tuple[int, int]], failures: Counter[str], lang: str) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = TEXT[lang]
    top = failures.most_common(6)
    plt.rcParams["text.parse_math"] = False  # a learner's "$" in a message is text, not a formula to parse
    fig, axes = plt.subplots(1, 3, figsize=(16, max(4.5, 0.32 * len(cells) + 1.5)),
                             gridspec_kw={"width_ratios": [1, 1.2, 1.4]})
    shares = [100 * r.score / r.max_score if r.max_score else 0 for r in rows]
    axes[0].hist(shares, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], color="#4c72b0", edgecolor="white")
    axes[0].set(title=t["distribution"], xlabel=t["share"], ylabel=t["number"], xlim=(0, 100))
    axes[0].yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    names = sorted(cells)
    axes[1].barh(names, [100 * cells[n][0] / cells[n][1] for n in names], color="#55a868")
    axes[1].set(title=t["per_cell"], xlabel="%", xlim=(0, 100))
    axes[1].invert_yaxis()
    axes[1].tick_params(axis="y", labelsize=8)
    if top:
        labels = [textwrap.shorten(message, 70) for message, _ in top]
        axes[2].barh(range(len(top)), [count for _, count in top], color="#c44e52")
        axes[2].set_yticks(range(len(top)), ["\n".join(textwrap.wrap(label, 38)) for label in labels], fontsize=7)
        axes[2].invert_yaxis()
    else:
        axes[2].text(0.5, 0.5, t["none"], ha="center", va="center")
        axes[2].set_yticks([])
    axes[2].set(title=t["failures"], xlabel=t["count"])
    axes[2].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _cell(text: str) -> str:
    """Learner text safe inside a Markdown table cell (one line, no control characters, no HTML)."""
    return markdown_cell_text(text)


SANDBOX_TEXT = {
    "en": ("Learners' kernels: sandboxed with bubblewrap", "Learners' kernels: NOT sandboxed (--no-sandbox)"),
    "ru": ("Ядра студентов: в песочнице bubblewrap", "Ядра студентов: НЕ в песочнице (--no-sandbox)"),
}


def _sandbox_text(root: Path, lang: str) -> str:
    """Whether the last batch ran its kernels sandboxed (grading_stats.json, written by grade)."""
    stats = root / "grading_stats.json"
    sandboxed = stats.exists() and json.loads(stats.read_text(encoding="utf-8")).get("_phases", {}).get("sandboxed")
    return SANDBOX_TEXT[lang][0 if sandboxed else 1]


def write_report(root: Path, notes: dict[str, list[str]], lang: str) -> Path:
    rows, cells = collect(root)
    failures = _failure_messages(root)
    t = TEXT[lang]
    _figure(root / "report.png", rows, cells, failures, lang)
    shares = sorted(100 * r.score / r.max_score for r in rows if r.max_score)
    median = shares[len(shares) // 2] if shares else 0
    lines = [
        f"# {t['title']}", "",
        "<!-- Generated by `python -m autograder grade`; rerunning it rewrites this file. -->", "",
        f"- {t['students']}: {len(rows)}",
        f"- {_sandbox_text(root, lang)}",
        f"- {t['mean']}: {_percent(sum(shares) / max(len(shares), 1), lang)}%",
        f"- {t['median']}: {_percent(median, lang)}%", "",
        f"![{t['figure']}](report.png)", "",
        f"## {t['table']}", "", t["final"], "",
        f"| {t['student']} | {t['lesson']} | {t['score']} | {t['notes']} |", "|---|---|---|---|",
    ]
    for row in rows:
        note = _cell("; ".join(notes.get(f"{row.student}/{row.lesson}", [])))
        lines.append(f"| {_cell(row.student)} | {row.lesson} | {score_text(row, lang)} | {note} |")
    lines += ["", f"## {t['cells']}", "", f"| {t['cell']} | {t['pass_rate']} |", "|---|---|"]
    lines += [f"| {name} | {passed}/{total} |" for name, (passed, total) in sorted(cells.items())]
    lines += ["", f"## {t['failures']}", "", f"| {t['count']} | {t['message']} |", "|---|---|"]
    lines += [f"| {count} | {_cell(message)} |" for message, count in failures.most_common(10)]
    path = root / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
