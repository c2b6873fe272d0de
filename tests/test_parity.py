"""Both languages stay in step: same code, same grading, same expected numbers; and committed clean."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from conftest import LESSONS, ROOT, student_notebook
from IPython.core.inputtransformer2 import TransformerManager

from autograder.authoring import notebooks
from autograder.learner.i18n import LANGUAGES

EXERCISES = {
    "residual_networks": ["identity_block", "convolutional_block", "ResNet50", "load_dataset"],
    "residual_units": ["ResidualBlock", "ResNet"],
}


def code_without_comments_and_docstrings(source: str) -> str:
    tree = ast.parse(TransformerManager().transform_cell(source))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def numbers_in_code_blocks(markdown: str) -> list[str]:
    blocks = re.findall(r"```(.*?)```", markdown, flags=re.S)
    return [n for block in blocks for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", block)]


def pair(lesson: str) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return tuple(nbformat.read(student_notebook(lesson, lang), as_version=4) for lang in LANGUAGES)


@pytest.mark.parametrize("lesson", LESSONS)
def test_same_cells_code_and_grading(lesson: str) -> None:
    en, ru = pair(lesson)
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in ru.cells]
    for index, (a, b) in enumerate(zip(en.cells, ru.cells, strict=True)):
        assert a.metadata.get("nbgrader") == b.metadata.get("nbgrader"), f"cell {index}: nbgrader metadata"
        if a.cell_type == "code":
            assert code_without_comments_and_docstrings(a.source) == code_without_comments_and_docstrings(b.source), (
                f"cell {index}: code differs between languages")
        else:
            assert numbers_in_code_blocks(a.source) == numbers_in_code_blocks(b.source), f"cell {index}: numbers"


@pytest.mark.parametrize("lesson", LESSONS)
def test_russian_prose_is_russian(lesson: str) -> None:
    _, ru = pair(lesson)
    for cell in ru.cells:
        if cell.cell_type == "markdown":
            letters = re.findall(r"[A-Za-zА-Яа-яЁё]", re.sub(r"`[^`]*`|```.*?```|\$[^$]*\$|<[^>]+>|\(http[^)]*\)",
                                                               "", cell.source, flags=re.S))
            cyrillic = sum(1 for ch in letters if re.match(r"[А-Яа-яЁё]", ch))
            assert cyrillic >= 0.5 * len(letters), cell.source[:80]


@pytest.mark.parametrize("lesson", LESSONS)
def test_answer_and_grade_cells(lesson: str) -> None:
    en, _ = pair(lesson)
    answers, current = [], None
    for cell in en.cells:
        grading = cell.metadata.get("nbgrader")
        if not grading:
            continue
        assert grading["schema_version"] == 3
        if grading["solution"]:
            answers.append(grading["grade_id"])
            current = grading["grade_id"]
            assert "..." in cell.source, f"answer cell {current} has no stub"
        else:
            assert grading["grade"] and grading["locked"] and grading["points"] > 0
            assert current and grading["grade_id"].startswith(current + "_"), grading["grade_id"]
            assert cell.source.count("\n") == 0, "a grade cell is one short call"
    if lesson in EXERCISES:
        assert answers == EXERCISES[lesson]


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_outputs_committed(lesson: str) -> None:
    for notebook in pair(lesson):
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None


def test_notebooks_are_generated_from_their_source() -> None:
    assert notebooks.main(["--check"]) == 0


def test_student_notebooks_do_not_import_solutions() -> None:
    for path in (ROOT / "notebooks").rglob("*.ipynb"):
        assert "solutions" not in path.read_text(encoding="utf-8")


def test_every_message_has_both_languages() -> None:
    from autograder.learner.i18n import LANGUAGES, MESSAGES

    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), key
        fields = [set(re.findall(r"{(\w*)", texts[lang])) for lang in LANGUAGES]
        assert fields[0] == fields[1], key
