"""Solved notebooks pass every grade cell; untouched ones fail every one, with a message, and run to the end."""

from __future__ import annotations

import pytest
from conftest import LANGS, LESSONS, executed

from autograder.authoring.execute import grade_results

CASES = [(lesson, lang) for lesson in LESSONS for lang in LANGS]
FAILURE_WORDS = {"en": ("expected", "raised", "returned", "should"),
                 "ru": ("ожидал", "ошибк", "вернула", "возвращает", "должна")}


@pytest.mark.parametrize(("lesson", "lang"), CASES)
def test_solved_notebook_passes_every_grade_cell(lesson: str, lang: str) -> None:
    results = grade_results(executed(lesson, lang, "solved"))
    assert results, "the notebook has no grade cells"
    failed = {r.grade_id: r.text for r in results if not r.passed}
    assert not failed, failed
    assert all("✔" in r.text for r in results)


@pytest.mark.parametrize(("lesson", "lang"), CASES)
def test_solved_notebook_runs_without_errors(lesson: str, lang: str) -> None:
    notebook = executed(lesson, lang, "solved")
    errors = [(cell.source[:60], out.ename, out.evalue) for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert not errors


@pytest.mark.parametrize(("lesson", "lang"), CASES)
def test_untouched_notebook_fails_every_grade_cell_with_a_message(lesson: str, lang: str) -> None:
    notebook = executed(lesson, lang, "stub")
    results = grade_results(notebook)
    passed = [r.grade_id for r in results if r.passed]
    assert not passed, f"grade cells that pass on the untouched notebook: {passed}"
    for result in results:
        assert result.text.startswith("CheckFailed:"), (result.grade_id, result.text)
        assert any(word in result.text.lower() for word in FAILURE_WORDS[lang]), (result.grade_id, result.text)


@pytest.mark.parametrize(("lesson", "lang"), CASES)
def test_untouched_notebook_runs_to_the_end(lesson: str, lang: str) -> None:
    notebook = executed(lesson, lang, "stub")
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code_cells), "the kernel stopped before the last cell"
    assert not any("DeadKernel" in str(out) for cell in code_cells for out in cell.outputs)


@pytest.mark.parametrize("lang", LANGS)
def test_stub_failure_points_at_the_learners_line(lang: str) -> None:
    results = {r.grade_id: r.text for r in grade_results(executed("residual_networks", lang, "stub"))}
    text = results["identity_block_shape"]
    assert ("Line" if lang == "en" else "Строка") in text
    assert "F1, F2, F3 = ..." in text
