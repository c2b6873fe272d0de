"""Build the student notebooks of both languages from one bilingual lesson source.

``notebooks/src/<lesson>.lesson`` holds every cell once. Cells start with a header line:

    %% md                                   markdown; ``@en`` / ``@ru`` lines open each language's text
    %% code                                 a code cell shared by both languages
    %% code answer=<grade_id>               an nbgrader answer cell (``solution: true``)
    %% code grade=<grade_id> points=<n>     a locked nbgrader grade cell

In code cells a line whose text starts with ``#en|`` or ``#ru|`` exists only in that
language (comments, docstrings), with the marker removed; everything else is shared, so
the code the two languages run is the same. In markdown, ``<img src="@IMG@/<name>.png" alt="…">``
becomes the language's figure ``images/<lang>/<name>.png`` embedded as a cell attachment (so it
renders wherever the notebook is opened: ``jupyter lab notebooks/``, the repository root, a copy
on its own, nbgrader's feedback), and ``@EXPECTED:<name>@`` the expected-output block computed
from ``autograder/expected``.

    python -m autograder generate notebooks [--check]
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from autograder import paths
from autograder.learner.i18n import LANGUAGES, message
from autograder.learner.lesson import NAMES

ROOT = paths.REPO
SOURCES = paths.SOURCES
_LANGUAGE = "|".join(LANGUAGES)
HEADER = re.compile(r"^%% (md|code)\b(.*)$")
LANG_LINE = re.compile(rf"^(\s*)#({_LANGUAGE})\|(.*)$")
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
IMAGES = paths.IMAGES
# A figure link: ``@IMG@/`` in a lesson source, ``../../images/<lang>/`` in notebooks made before figures
# were embedded (the course build passes those through the same function).
FIGURE = re.compile(rf'<img src="(?:@IMG@|\.\./\.\./images/(?:{_LANGUAGE}))/(?P<name>[\w.-]+\.png)"'
                    r'(?P<attributes>[^>]*)>')
ALT = re.compile(r'\balt="(?P<alt>[^"]*)"')


@dataclass
class Cell:
    kind: str
    options: dict[str, str]
    lines: list[str] = field(default_factory=list)
    line_number: int = 0


def parse(text: str, origin: str = "<lesson>") -> list[Cell]:
    cells: list[Cell] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            options = dict(item.split("=", 1) for item in header.group(2).split())
            cells.append(Cell(header.group(1), options, line_number=number))
        elif cells:
            cells[-1].lines.append(line)
        elif line.strip():
            raise ValueError(f"{origin}:{number}: text before the first '%%' cell header")
    return cells


def _strip_blank(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")


def markdown_for(cell: Cell, lang: str, origin: str) -> str:
    parts: dict[str, list[str]] = {}
    current: str | None = None
    for line in cell.lines:
        if line.strip() in {f"@{code}" for code in LANGUAGES}:
            current = line.strip()[1:]
            parts[current] = []
        elif current is not None:
            parts[current].append(line)
        elif line.strip():
            raise ValueError(f"{origin}:{cell.line_number}: markdown text before '@en'/'@ru'")
    missing = [code for code in LANGUAGES if not _strip_blank(parts.get(code, []))]
    if missing:
        raise ValueError(f"{origin}:{cell.line_number}: markdown cell has no text for {', '.join(missing)}")
    return _strip_blank(parts[lang])


def code_for(cell: Cell, lang: str) -> str:
    kept = []
    for line in cell.lines:
        marked = LANG_LINE.match(line)
        if marked is None:
            kept.append(line)
        elif marked.group(2) == lang:
            kept.append(marked.group(1) + marked.group(3))
    return _strip_blank(kept)


def nbgrader_metadata(cell: Cell, origin: str) -> dict[str, Any] | None:
    if "answer" in cell.options:
        return {"grade": False, "grade_id": cell.options["answer"], "locked": False, "schema_version": 3,
                "solution": True, "task": False}
    if "grade" in cell.options:
        if "points" not in cell.options:
            raise ValueError(f"{origin}:{cell.line_number}: grade cell without points=")
        return {"grade": True, "grade_id": cell.options["grade"], "locked": True,
                "points": int(cell.options["points"]), "schema_version": 3, "solution": False, "task": False}
    return None


# --- expected-output blocks, computed from the generated expected values --------------------


def _print(array: np.ndarray) -> str:
    """What ``print(np.around(array, 5))`` shows for a float32 array."""
    return str(np.around(np.asarray(array, dtype=np.float32), 5))


def _block_summary(values: dict[str, Any], case: str) -> str:
    output = np.asarray(values["blocks"][case]["output"], dtype=np.float32)
    return _print(output[:, (0, -1), :, :].mean(axis=3))


def _identity_block(values: dict[str, Any], lang: str) -> str:
    return (
        "training=False\n\n" + _block_summary(values, "identity_block_training_false")
        + "\n\ntraining=True\n\n" + _block_summary(values, "identity_block_training_true")
    )


def _convolutional_block(values: dict[str, Any], lang: str) -> str:
    output = np.asarray(values["blocks"]["convolutional_block_training_false"]["output"], dtype=np.float32)
    return _print(output[0])


# The lines below are what the lessons' code prints with ``check.say``: the same messages, in the notebook's language.


def _resnet50(values: dict[str, Any], lang: str) -> str:
    layers = values["resnet50"]["layers"]
    return "\n".join([message("layers", lang, count=len(layers)),
                      message("parameters", lang, count=values["resnet50"]["total_params"])])


def _residual_block(values: dict[str, Any], lang: str) -> str:
    case = values["block"]["shape_cases"][0]
    return "\n".join([message("output_shape", lang, shape=tuple(case["output_shape"])),
                      message("parameters", lang, count=case["params"])])


def _resnet(values: dict[str, Any], lang: str) -> str:
    case = values["resnet"]["shape_cases"][0]
    ones = "[" + " ".join(["1."] * case["output_shape"][0]) + "]"
    return "\n".join([message("output_shape", lang, shape=tuple(case["output_shape"])),
                      message("row_sums", lang, sums=ones), message("parameters", lang, count=case["params"])])


EXPECTED_BLOCKS: dict[str, dict[str, Callable[[dict[str, Any], str], str]]] = {
    "residual_networks": {
        "identity_block": _identity_block,
        "convolutional_block": _convolutional_block,
        "ResNet50": _resnet50,
    },
    "residual_units": {
        "ResidualBlock": _residual_block,
        "ResNet": _resnet,
    },
}


def attach_figures(cell: nbformat.NotebookNode, lang: str, images: Path = IMAGES) -> None:
    """Replace each figure link of a markdown cell by an image carried in the cell's attachments.

    Markdown image syntax, because nbconvert (nbgrader's feedback) resolves ``attachment:`` there
    and not in an HTML ``<img>``; a ``style`` width is dropped (the figure shows at its own size,
    at most the cell's width), an ``alt`` text is kept.
    """

    def embed(match: re.Match[str]) -> str:
        name = match.group("name")
        data = (images / lang / name).read_bytes()
        cell.setdefault("attachments", {})[name] = {"image/png": base64.b64encode(data).decode("ascii")}
        alt = ALT.search(match.group("attributes"))
        text = alt.group("alt") if alt else Path(name).stem.replace("_", " ")
        return f"![{text.replace('[', '(').replace(']', ')')}](attachment:{name})"

    cell.source = FIGURE.sub(embed, cell.source)


def fill(text: str, lesson: str, lang: str) -> str:
    from autograder.learner.expected import load

    def expected(match: re.Match[str]) -> str:
        block = EXPECTED_BLOCKS[lesson][match.group(1)](load(lesson), lang)
        return f"```\n{block}\n```"

    return re.sub(r"@EXPECTED:(\w+)@", expected, text)


def build(lesson: str, lang: str, source: Path | None = None) -> nbformat.NotebookNode:
    source = source or SOURCES / f"{lesson}.lesson"
    origin = str(source.relative_to(ROOT) if source.is_relative_to(ROOT) else source)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}, "course": {"lesson": lesson,
                                                                                               "language": lang}}
    for index, cell in enumerate(parse(source.read_text(encoding="utf-8"), origin)):
        cell_id = f"{lesson[:40]}-{index:03d}"
        if cell.kind == "md":
            new = nbformat.v4.new_markdown_cell(fill(markdown_for(cell, lang, origin), lesson, lang), id=cell_id)
            attach_figures(new, lang)
            if "@IMG@" in new.source:
                raise ValueError(f"{origin}:{cell.line_number}: '@IMG@' outside a figure link "
                                 '<img src="@IMG@/NAME.png">')
        else:
            new = nbformat.v4.new_code_cell(code_for(cell, lang), id=cell_id)
            grading = nbgrader_metadata(cell, origin)
            if grading:
                new.metadata["nbgrader"] = grading
        notebook.cells.append(new)
    nbformat.validate(notebook)
    return notebook


def target(lesson: str, lang: str) -> Path:
    return paths.NOTEBOOKS / lang / f"{lesson}.ipynb"


def lessons() -> list[str]:
    """The declared lessons (``autograder.learner.lesson.NAMES``), each with its source here."""
    return list(NAMES)


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder generate notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report notebooks that differ from their source")
    args = parser.parse_args(argv)
    stale = []
    for lesson in lessons():
        for lang in LANGUAGES:
            text, path = render(build(lesson, lang)), target(lesson, lang)
            if args.check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)} (run: python -m autograder generate notebooks)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
