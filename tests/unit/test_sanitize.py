"""What a submission shows is made inert before a page shows it, and keeps what a grader needs to see."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from autograder.grader.sanitize import (
    clean_html,
    markdown_cell_text,
    render_markdown,
    safe_markdown_cell,
    safe_output,
    terminal_safe,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
# Each of these would run script, load something, or take over the page if it reached a browser as is.
HOSTILE = {
    "event handler": '<img src=x onerror="alert(1)">',
    "script": "<script>alert(1)</script>",
    "svg onload": '<svg onload="alert(1)"><circle r="5"/></svg>',
    "javascript link": '<a href="javascript:alert(1)">x</a>',
    "mixed case link": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "entity link": '<a href="&#106;avascript:alert(1)">x</a>',
    "data html link": '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
    "iframe": '<iframe src="https://example.org"></iframe>',
    "form": '<form action="/api/contents"><input name="a"><button>go</button></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base": '<base href="https://example.org/">',
    "style element": "<style>*{background:url(javascript:alert(1))}</style>",
    "object": '<object data="x.swf"></object><embed src="x">',
    "relative image": '<img src="/api/contents/secret">',
    "remote image": '<img src="https://example.org/pixel.png">',
    "overlay": '<div style="position:fixed;top:0;left:0;width:100%;height:100%">covered</div>',
    "dom clobbering": '<a id="base_url" name="submission_id">x</a>',
    "maction": "<math><maction actiontype='statusline'><mi>x</mi><mtext>x</mtext></maction></math>",
    "annotation-xml": '<math><annotation-xml encoding="text/html"><img src=x onerror=alert(1)></annotation-xml></math>',
}
ACTIVE = re.compile(r"<(script|iframe|form|meta|base|style|object|embed|svg|input|button|annotation-xml)\b|\son\w+="
                    r"|javascript:|data:text|position|/api/|example\.org|\sid=|\sname=", re.IGNORECASE)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_nothing_active_survives(name: str) -> None:
    assert not ACTIVE.search(clean_html(HOSTILE[name])), clean_html(HOSTILE[name])


def test_what_a_grader_needs_survives() -> None:
    page = (f'<p><b>bold</b> <i>it</i></p><table class="dataframe"><tr><th>a</th></tr><tr><td>1</td></tr></table>'
            f'<img src="data:image/png;base64,{PNG}" width="20"><a href="https://example.com/doc">doc</a>'
            '<math display="block"><mrow><mi>x</mi><mo>=</mo><mfrac><mn>1</mn><mn>2</mn></mfrac></mrow></math>'
            '<span class="ansi-red-fg" style="color: red; font-weight: bold">red</span>')
    clean = clean_html(page)
    for kept in ("<b>bold</b>", "<table", "<td>1</td>", f"data:image/png;base64,{PNG}", 'width="20"',
                 'href="https://example.com/doc"', "<mfrac>", 'class="ansi-red-fg"', "color:red", "font-weight:bold"):
        assert kept in clean, (kept, clean)


def test_markdown_renders_safely_and_keeps_figures() -> None:
    attachments = {"fig.png": {"image/png": PNG}}
    html = clean_html(render_markdown("# Title\n\n![figure](attachment:fig.png)\n\n<img src=x onerror=alert(1)>\n\n"
                                      "[link](javascript:alert(1)) $x^2$", attachments))
    assert f"data:image/png;base64,{PNG}" in html and "<h1" in html and "$x^2$" in html
    assert not ACTIVE.search(html), html


def test_a_learners_markdown_cell_is_stored_as_inert_html_that_markdown_keeps_as_is() -> None:
    cell = nbformat.v4.new_markdown_cell("Hi <img src=x onerror=alert(1)>\n\n```\na\n\n\nb\n```\n\n"
                                         "![f](attachment:f.png)")
    cell.attachments = {"f.png": {"image/png": PNG}, "x": {"text/html": "<script>"}}
    safe_markdown_cell(cell)
    assert "attachments" not in cell and not ACTIVE.search(cell.source)
    # Whatever renders it later (formgrader without a sanitiser, JupyterLab) gets the same HTML back.
    plain = MarkdownWithMath(renderer=IPythonRenderer(escape=False)).render(cell.source)
    assert plain.strip() == cell.source.strip()
    assert f"data:image/png;base64,{PNG}" in cell.source



@pytest.mark.parametrize("attachments", [{"mine.png": {}}, {"mine.png": {"image/png": "not base64!"}}, {}, None,
                                         {"mine.png": "x"}, ["mine.png"]])
def test_an_empty_broken_or_missing_attachment_renders_as_an_image_without_source(attachments: object) -> None:
    """nbconvert stops the whole page on these (StopIteration, missing attachment): a grade must not depend on it."""
    cell = nbformat.v4.new_markdown_cell("Mine: ![mine](attachment:mine.png) and ![gone](attachment:gone.png)")
    cell.attachments = attachments
    safe_markdown_cell(cell)
    assert "attachments" not in cell and "Mine:" in cell.source and "attachment:" not in cell.source
    assert cell.source.count("<img") == 2 and not ACTIVE.search(cell.source)

def output(data: dict, metadata: dict | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def test_outputs_keep_only_inert_data() -> None:
    kept = safe_output(output({"text/html": "<b onclick=x>hi</b><script>x</script>", "text/plain": "hi",
                               "application/javascript": "alert(1)",
                               "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                               "image/png": PNG, "image/svg+xml": "<svg onload=alert(1)/>"},
                              {"image/png": {"width": 30, "height": "1 onerror=alert(1)"}, "isolated": True,
                               "filenames": {"image/png": "/etc/passwd"}}))
    assert kept.data == {"text/html": "<b>hi</b>", "text/plain": "hi", "image/png": PNG}
    assert kept.metadata == {"image/png": {"width": 30}}


def test_an_image_that_is_not_base64_is_dropped_and_said() -> None:
    kept = safe_output(output({"image/png": 'AAAA" onerror="alert(1)'}))
    assert kept.data == {"text/plain": "[output removed: image/png cannot be shown safely]"}
    assert "нельзя" in safe_output(output({"application/javascript": "x"}), "ru").data["text/plain"]


def test_markdown_outputs_become_clean_html() -> None:
    kept = safe_output(output({"text/markdown": "*md* <img src=x onerror=alert(1)>", "text/plain": "m"}))
    assert "<em>md</em>" in kept.data["text/html"] and not ACTIVE.search(kept.data["text/html"])
    assert "text/markdown" not in kept.data


def test_text_for_a_terminal_shows_escapes_instead_of_acting_on_them() -> None:
    hostile = "a\x1b[2J\x1b]0;title\x07b\x9bc\u202ed\r\ne\tf"
    assert terminal_safe(hostile) == "a\\x1b[2J\\x1b]0;title\\x07b\\x9bc\\u202ed\\r\ne\tf"
    assert terminal_safe(hostile, one_line=True) == "a\\x1b[2J\\x1b]0;title\\x07b\\x9bc\\u202ed e f"
    assert terminal_safe("Ошибка: «x» — ✔") == "Ошибка: «x» — ✔"


def test_text_for_a_markdown_table_cell_is_one_inert_line() -> None:
    cell = markdown_cell_text("<img src=x onerror=1> | a\nb \x1b[31m")
    assert cell == "&lt;img src=x onerror=1&gt; \\| a b \\x1b[31m"
