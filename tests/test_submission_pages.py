"""What a submission shows is data: no script in any page, and bounded disk, files, time and console text.

The instructor grades in formgrader (nbgrader's Manual Grading, served by the instructor's own
Jupyter server): a script there runs on the server's origin and can write any file through the
Jupyter API. The student (and the instructor) read the feedback HTML ``grade`` writes. One
course, one batch of ``residual_networks`` submissions graded for real (``python -m autograder
grade --jobs 2``, sandboxed): two honest classmates; the ways a notebook can carry markup or script
into those pages (*channels*), grouped into four solved notebooks (markdown cells, a raw cell,
outputs, the hidden tests' comments); a kernel that writes 5 GiB, one that makes 100,000 files, one
that ignores the interrupt, one that prints terminal escapes and dies; an honest student who
copy-pasted a check cell; and two stubs that claim points (a check worth 1000, a graded cell of
their own).

Every payload, if it runs, leaves evidence (:func:`support.formgrader.payload`): a marker in the
page, a dialog, and on formgrader's origin a file ``pwned-<channel>.txt`` written through the
contents API. Then each submission's formgrader page and feedback page are opened in headless
Chromium: no evidence anywhere, and the pages still show what a grader needs — the lesson's
figures, the check messages, the plots.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from support.formgrader import (
    PageReport,
    chromium,
    formgrader,
    inspect_page,
    open_page,
    payload,
    payload_call,
    pwned_files,
    run_in_page,
    submission_ids,
)

from autograder.authoring.solve import solve
from autograder.course.create import build_course

LESSON = "residual_networks"
HONEST = {"honest_solved": 18.0, "honest_untouched": 0.0}
PASSED = "all checks passed"  # the check under each exercise, when it passes
STUB_HINT = "replace every"  # the check under an answer left as handed out
SETTLE = 3.0  # seconds each page gets to run whatever it runs



@dataclass
class Channel:
    """One way a submission may carry markup or script into a page: what the hostile student adds."""

    cells: list[nbformat.NotebookNode]  # after the first answer cell (code cells there run when graded)
    metadata: dict = field(default_factory=dict)  # added to the notebook's metadata
    at_end: bool = False  # the cells go at the end of the notebook instead


def _index(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def img(evidence: str) -> str:
    return f'<img src="x" onerror="{payload_call(evidence)}">'


def md(source: str, **fields: object) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, **fields)


def code(source: str, **fields: object) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, **fields)


def display(expression: str) -> str:
    return f"from IPython.display import *\ndisplay({expression})"


def _widget_state(evidence: str) -> dict:
    """A notebook's saved widget state: an HTML widget whose value is markup (and a </script>)."""
    model = {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
             "state": {"value": img(evidence) + "</script>" + img(evidence)}}
    return {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
                                                           "state": {"pwned0000000000000000000000000000": model}}}


HIDDEN_COMMENT = """\
import os, pathlib
# The hidden tests' recordings: what a recording says when it failed reaches the feedback as a comment.
folders = [os.environ.get('AUTOGRADER_RECORD_DIR', '')] + list(os.environ.values())
for folder in folders:
    if folder and os.path.isdir(folder) and any(name.endswith('.npz') for name in os.listdir(folder)):
        for name in os.listdir(folder):
            if name.endswith('.npz'):
                pathlib.Path(folder, name[:-4] + '.error.txt').write_text({text!r})
        break
"""


def hostile_channels() -> dict[str, Channel]:
    """``{channel: what the student adds}``, each added to its own solved notebook; extend freely.

    Markdown cells carry raw markup; code cells (they run when the notebook is graded) make
    outputs of every kind nbconvert's templates render; the metadata holds saved widget state.
    Each payload's evidence id is its channel's name, or the name and ``.<vector>``.
    """
    p = payload_call
    png = "{'image/png': 'AAAA'}, raw=True, metadata="  # not an image: the browser fires onerror
    return {
        # --- markdown cells ---
        "md_img_onerror": Channel([md(f"My own figure:\n\n{img('md_img_onerror')}")]),
        "md_iframe": Channel([md(f'<iframe srcdoc="<script>{p("md_iframe.srcdoc")}</script>"></iframe>\n\n'
                                 f'<iframe src="javascript:{p("md_iframe.src")}"></iframe>')]),
        "md_form": Channel([md(f'<form action="javascript:{p("md_form.action")}"><input name="score" value="18">'
                               '<button type="submit">Save the grade</button></form>\n\n'
                               f'<form><button formaction="javascript:{p("md_form.formaction")}">Save</button>'
                               '</form>')]),
        "md_meta_refresh": Channel([md('<meta http-equiv="refresh" content="0; url=?pwned=md_meta_refresh">')]),
        "md_base_href": Channel([md('<base href="http://127.0.0.1:9/pwned-md_base_href/">\n\n[My notes](notes.html)')]),
        "md_svg": Channel([md(f'<svg width="20" height="20" onload="{p("md_svg.onload")}"><circle r="5"/></svg>\n\n'
                              f'<svg><script>{p("md_svg.script")}</script></svg>')]),
        "md_html_js_link": Channel([md(f'See <a href="javascript:{p("md_html_js_link")}">my report</a>.')]),
        "md_markdown_js_link": Channel([md(f"See [my report](javascript:{p('md_markdown_js_link')}).")]),
        # The check messages hidden from the grader; a javascript: URL in CSS.
        "md_style": Channel([md("<style>\ndiv.output_area, div.output_subarea { display: none !important; }\n"
                                f'body {{ background-image: url("javascript:{p("md_style")}"); }}\n</style>')]),
        # nbconvert writes a mermaid block's text into the page unescaped.
        "md_mermaid": Channel([md(f"```mermaid\n{img('md_mermaid')}\n```")]),
        # The feedback draws formulas as MathML: markup inside \text{...}.
        "md_math": Channel([md(f'The energy is $\\text{{<img/src="x"/onerror="{p("md_math")}">}}$.')]),
        "md_attachment": Channel([md(f"![{img('md_attachment.alt')}](attachment:mine.png)", attachments={
            "mine.png": {"image/png": f'AAAA" onerror="{p("md_attachment.data")}" x="'}})]),
        "raw_html": Channel([nbformat.v4.new_raw_cell(
            img("raw_html"), metadata={"raw_mimetype": "text/html", "format": "text/html"})]),
        # --- outputs of code cells the student added ---
        "out_html": Channel([code(display(f"HTML({img('out_html')!r})"))]),
        "out_javascript": Channel([code(display(f"Javascript({p('out_javascript')!r})"))]),
        "out_javascript_breakout": Channel([code(display(
            f"Javascript({'</script>' + img('out_javascript_breakout') + '<script>'!r})"))]),
        "out_markdown": Channel([code(display(f"Markdown({img('out_markdown')!r})"))]),
        "out_svg": Channel([code(display(repr({"image/svg+xml": (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="{p("out_svg.onload")}">'
            f'<script>{p("out_svg.script")}</script><circle r="5"/></svg>')}) + ", raw=True"))]),
        "out_widget": Channel(
            [code("import ipywidgets\n" + display(f"ipywidgets.HTML({img('out_widget.model')!r})")),
             code(display(repr({"application/vnd.jupyter.widget-view+json": {
                 "model_id": "</script>" + img("out_widget.view"), "version_major": 2, "version_minor": 0},
                 "text/plain": "HTML()"}) + ", raw=True"))],
            metadata={"widgets": _widget_state("out_widget.state")}),
        # Attribute break-outs: the image data, alt text and file name (quoted), width and height (unquoted).
        "out_png_quote": Channel([code(
            display(repr({"image/png": f'AAAA" onerror="{p("out_png_quote.data")}'}) + ", raw=True") + "\n"
            + display(png + repr({"image/png": {"alt": f'x" onerror="{p("out_png_quote.alt")}'}})) + "\n"
            + display(png + repr({"filenames": {"image/png": f'x" onerror="{p("out_png_quote.filename")}'}})))]),
        "out_png_width": Channel([code(display(png + repr(
            {"image/png": {"width": f"1 onerror={p('out_png_width')}"}})))]),
        "out_jpeg_height": Channel([code(display(png.replace("png", "jpeg") + repr(
            {"image/jpeg": {"height": f"1 onerror={p('out_jpeg_height')}"}})))]),
        "out_text": Channel([code(f"import sys\nprint({img('out_text.stdout')!r})\n"
                                  f"sys.stderr.write({img('out_text.stderr')!r})\n"
                                  + display(f"Latex({'$' + img('out_text.latex') + '$'!r})")
                                  + f"\n{img('out_text.result')!r}"),
                             code(f"raise ValueError({img('out_text.error')!r})")]),
        # The hidden tests' verdicts reach the feedback as comments: recordings that say they failed.
        "hidden_comment": Channel([code(HIDDEN_COMMENT.format(text=img("hidden_comment")))], at_end=True),
    }


# The script channels, grouped: one notebook per kind (each payload names its channel, so a group still
# says which one ran), which keeps the batch small.
GROUPS = {"hostile_markdown": "md_", "hostile_raw": "raw_", "hostile_outputs": "out_", "hostile_comment": "hidden_"}

# What a submission takes from the grader: disk, files, time, the console. Each code cell goes at the end of
# a solved notebook, so every check has run before it (the points stay earned).
DISK_WRITER = """\
import os
written, errno = 0, None
os.makedirs('fill', exist_ok=True)
chunk = b'\\0' * (16 << 20)
try:
    for part in range(20):  # 20 files of 256 MiB: 5 GiB
        with open(f'fill/part{part:02d}.bin', 'wb') as file:
            for _ in range(16):
                file.write(chunk)
                written += len(chunk)
except OSError as error:
    errno = error.errno
print(f'disk writer: {written >> 20} MiB, errno {errno}')
"""
MANY_FILES = """\
import os
os.makedirs('many', exist_ok=True)
made = 0
try:
    for n in range(100_000):
        open(f'many/{n:06d}', 'w').close()
        made += 1
except OSError as error:
    print('stopped:', error)
print(f'many files: {made}')
"""
IGNORES_INTERRUPT = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\x1b[31m\x9b2J\u202e"  # clear screen, window title, colour, 8-bit CSI, RTL
ESCAPES_AND_DIES = f"""\
import os, signal, sys
with open({ESCAPES!r} + 'big.bin', 'wb') as file:  # too big to come back: its name goes into the notes
    file.write(b'x' * (21 << 20))
print({ESCAPES!r})
sys.stderr.write({ESCAPES!r})
os.kill(os.getpid(), signal.SIGKILL)
"""
RESOURCE_CELLS = {"disk_writer": DISK_WRITER, "many_files": MANY_FILES, "ignores_interrupt": IGNORES_INTERRUPT,
                  "escapes_and_dies": ESCAPES_AND_DIES}


def submissions(release: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """``{student: notebook}``: the honest classmates, the script channels, the resource and points attacks."""
    solved = solve(release, LESSON)
    honest = copy.deepcopy(solved)  # with a plot of the student's own
    honest.cells.insert(_index(honest, "load_dataset_labels") + 1, code(
        "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([1, 2, 3], [0.9, 0.4, 0.2])\n"
        "ax.set_title('my loss')\nplt.show()"))
    notebooks = {"honest_solved": honest, "honest_untouched": copy.deepcopy(release)}
    channels = hostile_channels()
    for group, prefix in GROUPS.items():
        notebook = copy.deepcopy(solved)
        for channel in (channel for name, channel in channels.items() if name.startswith(prefix)):
            at = len(notebook.cells) if channel.at_end else _index(notebook, "identity_block") + 1
            notebook.cells[at:at] = copy.deepcopy(channel.cells)
            notebook.metadata.update(copy.deepcopy(channel.metadata))
        notebooks[group] = notebook
    assert sum(name.startswith(tuple(GROUPS.values())) for name in channels) == len(channels)
    for name, source in RESOURCE_CELLS.items():
        notebooks[name] = copy.deepcopy(solved)
        notebooks[name].cells.append(code(source))
    # An honest student who copy-pasted a check cell under their answer (JupyterLab gives the copy a new id).
    copied = notebooks["copied_check_cell"] = copy.deepcopy(solved)
    check = copy.deepcopy(copied.cells[_index(copied, "identity_block_shape")])
    check.id = "copied-check"
    copied.cells.insert(_index(copied, "identity_block") + 1, check)
    # Stubs that claim more: a check worth 1000 points, a graded cell of the student's own.
    greedy = notebooks["points_1000"] = copy.deepcopy(release)
    greedy.cells[_index(greedy, "identity_block_shape")].metadata["nbgrader"]["points"] = 1000
    own = notebooks["own_graded_cell"] = copy.deepcopy(release)
    own.cells.append(code("print('full marks')", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "my_bonus", "points": 1000,
        "schema_version": 3}}))
    return notebooks


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The module's temporary folder (course, server, browser profile), removed at the end."""
    folder = tmp_path_factory.mktemp("submission_pages")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def course(workdir: Path) -> Path:
    root = build_course(workdir / "instructor" / "course", "en", cell_timeout=60)
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    for student, notebook in submissions(release).items():
        folder = root / "submitted" / student / LESSON
        shutil.copytree(root / "release" / LESSON, folder)
        nbformat.write(notebook, folder / f"{LESSON}.ipynb")
    return root


@pytest.fixture(scope="module")
def graded(course: Path) -> tuple[Path, subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(course), "--jobs", "2"],
                         capture_output=True, text=True, timeout=3600, cwd=course.parent)
    return course, run, time.perf_counter() - started


def scores(root: Path) -> dict[str, float]:
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(file) if row["assignment"] == LESSON}


def test_the_batch_is_graded_and_honest_classmates_keep_their_scores(graded: tuple) -> None:
    root, run, seconds = graded
    print(f"\ngrade: {seconds:.0f} s; scores: {scores(root) if run.returncode == 0 else '-'}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "sandboxed with bubblewrap" in (root / "report.md").read_text(encoding="utf-8")
    got = scores(root)
    assert {student: got[student] for student in HONEST} == HONEST, run.stdout[-5000:]
    assert set(got) == set(submissions_of(root))
    # Every submission was graded and has its feedback: otherwise a page below would be missing, not clean.
    ungraded = [student for student in got
                if not (root / "feedback" / student / LESSON / f"{LESSON}.html").is_file()
                or not (root / "autograded" / student / LESSON / f"{LESSON}.ipynb").is_file()]
    assert not ungraded, f"not graded: {ungraded}\n{run.stdout[-5000:]}\n{run.stderr[-3000:]}"


def submissions_of(root: Path) -> list[str]:
    return sorted(path.name for path in (root / "submitted").iterdir())


def figure_alts(root: Path) -> set[str]:
    """The alt texts of the lesson's figures (markdown images whose source is a cell attachment)."""
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    alts = {m for cell in release.cells if cell.cell_type == "markdown"
            for m in re.findall(r"!\[([^\]]*)\]\(attachment:", cell.source)}
    assert len(alts) >= 5
    return alts


def grade_cells(root: Path) -> int:
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    return sum(1 for cell in release.cells
               if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="module")
def browser(workdir: Path) -> Iterator[object]:
    with chromium(workdir / "chromium") as driver:
        yield driver


def png_outputs(root: Path, student: str) -> int:
    """The real PNG images (plots) among the outputs of a student's graded notebook: the page must show each."""
    path = root / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    if not path.is_file():
        return 0
    notebook = nbformat.read(path, as_version=4)
    return sum(1 for cell in notebook.cells for output in cell.get("outputs", [])
               if str(output.get("data", {}).get("image/png", "")).startswith("iVBORw0KGgo"))


@pytest.fixture(scope="module")
def formgrader_pages(graded: tuple, browser: object, workdir: Path) -> tuple[dict[str, PageReport], list[str]]:
    """Every submission's formgrader page, opened by the instructor; and the evidence files on the server."""
    root, run, _ = graded
    assert run.returncode == 0, run.stderr[-3000:]
    course_id = json.loads((root / "course.json").read_text(encoding="utf-8"))["course_id"]
    ids = submission_ids(root / "gradebook.db", course_id, LESSON, LESSON)
    assert set(ids) == set(submissions_of(root))
    with formgrader(root, workdir / "server", server_root=root.parent) as server:
        browser.get(f"{server.url}/formgrader?token={server.token}")  # type: ignore[attr-defined]  # the login cookie
        # Positive control: a script in a formgrader page writes a file through the API, and the probe sees it all.
        honest = server.submission_url(ids["honest_solved"])
        assert open_page(browser, honest, settle=0.5, click=False).evidence() == []
        link = ("var a = document.createElement('a'); a.textContent = 'control'; a.href = 'javascript:' + arguments[0];"
                "document.body.appendChild(a);")
        run_in_page(browser, payload("control") + link, payload_call("control.link"))
        control = inspect_page(browser, honest, click=True, settle=1)
        assert {"marker control", "marker control.link", "dialog 'alert: pwned-control'",
                "dialog 'alert: pwned-control.link'"} <= set(control.evidence()), control.evidence()
        expected = ["pwned-control.link.txt", "pwned-control.txt"]
        deadline = time.monotonic() + 20
        while pwned_files(server.root) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pwned_files(server.root) == expected, server.log_tail()
        for name in expected:
            (server.root / name).unlink()
        pages = {student: open_page(browser, server.submission_url(ids[student]), settle=SETTLE)
                 for student in sorted(ids)}
        time.sleep(1)  # the last page's requests
        files = pwned_files(server.root)
    return pages, files


def _report(pages: dict[str, PageReport | None], files: list[str] = ()) -> dict[str, list[str]]:
    """``{channel: evidence}`` for every page that ran a script or was taken over, and every file written."""
    ran = {student: page.evidence() for student, page in pages.items() if page is not None and page.evidence()}
    for name in files:
        ran.setdefault(name.removeprefix("pwned-").split(".")[0], []).append(f"wrote {name}")
    return ran


def test_formgrader_runs_no_script_of_a_submission(formgrader_pages: tuple) -> None:
    pages, files = formgrader_pages
    ran = _report(pages, files)
    print("\nformgrader:", json.dumps(ran, indent=1))
    assert not files and not ran, "scripts of submissions ran in formgrader:\n" + json.dumps(ran, indent=1)


def _shows_what_is_needed(pages: dict[str, PageReport | None], root: Path) -> dict[str, list[str]]:
    """``{student: what is missing}``: the lesson's figures, the check messages, the plots of the graded notebook."""
    alts, checks = figure_alts(root), grade_cells(root)
    missing: dict[str, list[str]] = {}
    for student, page in pages.items():
        if student not in (*HONEST, *GROUPS):  # the resource and points attacks: their pages need not be complete
            continue
        if page is None:
            missing[student] = ["no page"]
            continue
        problems = []
        figures = {image["alt"] for image in page.loaded_images(alts)}
        if figures != alts:
            problems.append(f"figures not shown: {sorted(alts - figures)}")
        if student == "honest_untouched":
            if STUB_HINT not in page.text:
                problems.append(f"no {STUB_HINT!r} check message")
        elif page.text.count(PASSED) < checks:
            problems.append(f"{page.text.count(PASSED)} of {checks} check messages {PASSED!r} visible")
        plots = len([image for image in page.loaded_images() if image["alt"] not in alts])
        if plots < png_outputs(root, student):
            problems.append(f"{plots} of {png_outputs(root, student)} plots shown")
        if problems:
            missing[student] = problems
    return missing


def test_formgrader_shows_what_a_grader_needs(formgrader_pages: tuple, graded: tuple) -> None:
    pages, _ = formgrader_pages
    assert png_outputs(graded[0], "honest_solved") >= 2  # the lesson's plot and the student's own
    missing = _shows_what_is_needed(pages, graded[0])
    assert not missing, json.dumps(missing, indent=1)


@pytest.fixture(scope="module")
def feedback_pages(graded: tuple, browser: object) -> dict[str, PageReport | None]:
    """Every submission's feedback HTML, opened from disk as a student opens it (None: there is none)."""
    root, run, _ = graded
    assert run.returncode == 0, run.stderr[-3000:]
    pages: dict[str, PageReport | None] = {}
    for student in submissions_of(root):
        path = root / "feedback" / student / LESSON / f"{LESSON}.html"
        pages[student] = open_page(browser, path.as_uri(), settle=SETTLE - 1) if path.is_file() else None
    # Positive control: a script in a feedback page is seen.
    honest = pages["honest_solved"]
    assert honest is not None
    assert open_page(browser, honest.url, settle=0, click=False).evidence() == []
    run_in_page(browser, payload("control"))
    control = inspect_page(browser, honest.url)
    assert {"marker control", "dialog 'alert: pwned-control'"} <= set(control.evidence()), control.evidence()
    return pages


def test_feedback_runs_no_script_of_a_submission(feedback_pages: dict[str, PageReport | None]) -> None:
    ran = _report(feedback_pages)
    print("\nfeedback:", json.dumps(ran, indent=1))
    assert not ran, "scripts of submissions ran in the feedback HTML:\n" + json.dumps(ran, indent=1)


def test_feedback_shows_what_a_student_needs(feedback_pages: dict[str, PageReport | None], graded: tuple) -> None:
    missing = _shows_what_is_needed(feedback_pages, graded[0])
    assert not missing, json.dumps(missing, indent=1)


# What a submission takes from the grader (issue 14): each bounded, the batch goes on, honest grades stay.

def notes(root: Path, student: str) -> list[str]:
    return json.loads((root / "grading_notes.json").read_text(encoding="utf-8"))[f"{student}/{LESSON}"]["notes"]


def csv_rows(root: Path) -> dict[str, dict[str, str]]:
    with open(root / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student_id"]: row for row in csv.DictReader(file) if row["assignment"] == LESSON}


def output_text(root: Path, student: str) -> str:
    notebook = nbformat.read(root / "autograded" / student / LESSON / f"{LESSON}.ipynb", as_version=4)
    return "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))


def folder_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_kernel_cannot_fill_the_graders_disk(graded: tuple) -> None:
    """5 GiB asked for; the job's disk (1 GiB) says ENOSPC; no more than the folder's bound comes back."""
    from autograder.grader.limits import MIB, Limits

    root, run, _ = graded
    assert run.returncode == 0, run.stderr[-3000:]
    wrote = re.search(r"disk writer: (\d+) MiB, errno (\d+)", output_text(root, "disk_writer"))
    assert wrote, output_text(root, "disk_writer")[-2000:]
    assert int(wrote[1]) <= Limits().disk // MIB and int(wrote[2]) == 28, wrote[0]  # ENOSPC
    assert csv_rows(root)["disk_writer"]["max_score"] in ("18", "18.0")
    back = sum(path.stat().st_size for path in folder_files(root / "autograded" / "disk_writer" / LESSON))
    assert back <= Limits().returned_bytes, back
    assert any("larger than 20" in note for note in notes(root, "disk_writer")), notes(root, "disk_writer")


MANY_FILES_SECONDS = 300  # the bound for grading the 100,000-file submission (an honest one takes ~30-60 s here)


def test_a_hundred_thousand_files_are_cut_to_the_bound_once_and_quickly(graded: tuple) -> None:
    from autograder.grader.limits import Limits

    root, run, _ = graded
    assert "many files: 100000" in output_text(root, "many_files")
    assert scores(root)["many_files"] == 18.0
    kept = folder_files(root / "autograded" / "many_files" / LESSON)
    assert len(kept) <= Limits().returned_files + 10, len(kept)
    said = [note for note in notes(root, "many_files") if "files" in note]
    assert len(said) == 1 and "More than 10,000 files" in said[0], notes(root, "many_files")
    stats = json.loads((root / "grading_stats.json").read_text(encoding="utf-8"))
    assert stats[f"many_files/{LESSON}"]["seconds"] < MANY_FILES_SECONDS, stats[f"many_files/{LESSON}"]


def test_a_kernel_that_ignores_the_interrupt_is_killed_and_keeps_its_points(graded: tuple) -> None:
    root, _, _ = graded
    assert scores(root)["ignores_interrupt"] == 18.0
    said = notes(root, "ignores_interrupt")
    assert any("did not stop within 10\u00a0s of being interrupted" in note for note in said), said
    for text in (json.dumps(said), (root / "report.md").read_text(encoding="utf-8"),
                 (root / "feedback" / "ignores_interrupt" / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")):
        assert "CellTimeoutError" not in text and "nbclient" not in text
    stats = json.loads((root / "grading_stats.json").read_text(encoding="utf-8"))
    assert stats[f"ignores_interrupt/{LESSON}"]["seconds"] < 60 + 10 + 180  # cell timeout + grace + the rest


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_a_kernel_that_prints_escapes_and_dies_reaches_no_terminal_raw(graded: tuple) -> None:
    root, run, _ = graded
    assert scores(root)["escapes_and_dies"] == 18.0  # every check ran before the kernel died
    said = notes(root, "escapes_and_dies")
    assert any("SIGKILL" in note for note in said), said
    assert any("\\x1b[2J\\x1b]0;owned\\x07" in note for note in said), said  # the file name, shown as escapes
    for name, text in (("console", run.stdout + run.stderr), ("report.md", (root / "report.md").read_text("utf-8")),
                       ("grades.csv", (root / "grades.csv").read_text("utf-8"))):
        assert not CONTROL.search(text.replace("\n", "").replace("\t", "")), (name, CONTROL.findall(text))


def test_a_copied_check_cell_costs_an_honest_student_nothing(graded: tuple) -> None:
    root, _, _ = graded
    assert scores(root)["copied_check_cell"] == 18.0


@pytest.mark.parametrize("student", ["points_1000", "own_graded_cell"])
def test_points_a_submission_claims_count_for_nothing(graded: tuple, student: str) -> None:
    root, _, _ = graded
    row = csv_rows(root)[student]
    assert float(row["score"]) == 0 and float(row["max_score"]) == 18, row
