"""The instructor workflow on real nbgrader: build, release, parallel autograde, feedback, export, report.

One course is built and one batch of submissions graded (with ``--jobs 2``); each submission
exercises one way a batch can go wrong, and the tests read what came out.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from support.course import scores

from autograder.authoring.solve import solve
from autograder.course.cluster import usable_cores
from autograder.course.create import build_course, nbgrader
from autograder.course.grade import KERNELS_AHEAD_ENV, read_notes

LESSON = "residual_networks"
MAX = 18.0
TF_LOG = "I0000 00:00:1795299045.015821    2099 port.cc:153] oneDNN custom operations are on.\\n"


def _cell(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _insert_after(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    notebook.cells.insert(_cell(notebook, grade_id) + 1, nbformat.v4.new_code_cell(source))


def _answer(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    notebook.cells[_cell(notebook, grade_id)].source = source


def submissions(release: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode | str | None]:
    solved = solve(release, LESSON)
    copy = lambda notebook: nbformat.from_dict(json.loads(json.dumps(notebook)))  # noqa: E731

    robust = copy(solved)  # every disturbance below must leave full marks
    _insert_after(robust, "identity_block", "while True:\n    pass")  # an infinite loop: the cell times out
    _insert_after(robust, "convolutional_block", "print('x' * 3_000_000)")  # megabytes of output
    _insert_after(robust, "ResNet50", "try:\n    import solutions\n    print('SOLUTIONS IMPORTED')\n"
                  "except ModuleNotFoundError:\n    print('NO SOLUTIONS HERE')")
    # TensorFlow-style log lines on stderr from inside the checked function, both native and Python-level
    block = robust.cells[_cell(robust, "identity_block")]
    noise = (f"    import os, sys\n    os.write(2, b'{TF_LOG}')\n"
             "    sys.stderr.write('WARNING:tensorflow:retracing\\n')\n")
    block.source = block.source.replace("    F1, F2, F3 = filters", noise + "    F1, F2, F3 = filters")
    _answer(robust, "identity_block_training_true", "print('All tests passed')")  # edited grade cell
    del robust.cells[_cell(robust, "convolutional_block_training_true")]  # deleted grade cell

    patcher = copy(release)  # stubs, then the checks patched to pass and a claim of success
    _insert_after(patcher, "identity_block", "for name in dir(check):\n    if name[0].islower() or name[0] == 'R':\n"
                  "        setattr(check, name, lambda *a, **k: print('All tests passed'))")

    numpy_patcher = copy(solved)  # a block without its final ReLU, with numpy's comparisons patched
    source = numpy_patcher.cells[_cell(numpy_patcher, "identity_block")].source
    body, tail = source.rsplit('    X = Activation("relu")(X)\n', 1)
    numpy_patcher.cells[_cell(numpy_patcher, "identity_block")].source = body + tail
    _insert_after(numpy_patcher, "identity_block", "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
                  "np.allclose = lambda *a, **k: True\nnp.ndarray.min = lambda self, *a, **k: 0.0")

    hardcoder = copy(solved)  # both blocks return the shipped expected tensors
    hardcode = ("import json, pathlib\nEXPECTED = json.loads(pathlib.Path('autograder/learner/expected/{lesson}.json')"
                ".read_text())['blocks']\ndef {name}(X, f, filters, s=2, training=True, initializer=None):\n"
                "    key = '{name}_training_' + ('true' if training else 'false')\n"
                "    return tf.constant(EXPECTED[key]['output'], dtype=tf.float32)")
    for name in ("identity_block", "convolutional_block"):
        _answer(hardcoder, name, hardcode.format(lesson=LESSON, name=name))

    dies = copy(solved)
    _insert_after(dies, "ResNet50_config", "import os\nos._exit(3)")
    hog = copy(solved)
    _insert_after(hog, "convolutional_block_training_true", "hog = np.ones(1_200_000_000)")  # ~9.6 GB

    return {"solved": solved, "untouched": copy(release), "robust": robust, "patcher": patcher,
            "numpy_patcher": numpy_patcher, "hardcoder": hardcoder, "dies": dies, "hog": hog,
            "not_json": "{ this is not a notebook", "missing": None}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_course(tmp_path_factory.mktemp("courses") / "course", "en", cell_timeout=40)
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    for student, notebook in submissions(release).items():
        folder = root / "submitted" / student / LESSON
        shutil.copytree(root / "release" / LESSON, folder)
        target = folder / f"{LESSON}.ipynb"
        if notebook is None:
            target.unlink()
        elif isinstance(notebook, str):
            target.write_text(notebook)
        else:
            nbformat.write(notebook, target)
    return root


def run_grade(root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", str(root), "--jobs", "2", "--memory-limit",
                           "5G"], capture_output=True, text=True, timeout=1800, cwd=root.parent,
                          env=os.environ | (env or {}))


@pytest.fixture(scope="module")
def graded(course: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    return course, run_grade(course)



def autograded(root: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(root / "autograded" / student / LESSON / f"{LESSON}.ipynb", as_version=4)


def outputs_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.get("outputs", []))


def test_release_has_no_reference_code_and_no_hidden_tests(course: Path) -> None:
    import inspect

    sys.path.insert(0, str(ROOT))
    from solutions import residual_networks as reference

    release = (course / "release" / LESSON / f"{LESSON}.ipynb").read_text()
    student = (ROOT / "notebooks" / "en" / f"{LESSON}.ipynb").read_text()
    answers = {line.strip() for line in inspect.getsource(reference).splitlines() if len(line.strip()) > 12}
    given = {line.strip() for line in json.loads(student)["cells"] for line in "".join(line["source"]).splitlines()}
    leaked = [line for line in answers - given if json.dumps(line)[1:-1] in release]
    assert not leaked
    assert "HIDDEN TESTS" not in release and "record_hidden" not in release
    assert not list(course.rglob("solutions"))


def test_figures_are_embedded_in_the_release(course: Path) -> None:
    release = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    attached = [name for cell in release.cells for name in cell.get("attachments", {})]
    assert {"vanishing_gradients.png", "identity_block.png", "resnet50_stages.png"} <= set(attached)
    assert "../../images" not in json.dumps(release)


def test_grade_exits_zero_and_reports_the_unreadable(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, run = graded
    assert run.returncode == 0, run.stderr[-3000:]
    assert "not_json/residual_networks" in run.stderr and "missing/residual_networks" in run.stderr
    assert "grading:" in run.stderr  # the progress bar


def test_every_submission_is_recorded(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    got = scores(root)
    assert got["solved"] == MAX
    assert got["untouched"] == 0
    assert got["robust"] == MAX  # loop, huge output, stderr logs, edited and deleted grade cells
    assert got["not_json"] == 0 and got["missing"] == 0
    assert set(got) == {"solved", "untouched", "robust", "patcher", "numpy_patcher", "hardcoder", "dies", "hog",
                        "not_json", "missing"}


def test_cheating_earns_nothing_for_the_exercise(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    got = scores(root)
    assert got["patcher"] == 0
    # A block without its final ReLU loses identity_block's 5 points, and ResNet-50's 6 (built from it).
    assert got["numpy_patcher"] == MAX - 5 - 6
    # Hard-coded blocks lose both blocks' 10 points, and ResNet-50's 6; only load_dataset's 2 remain.
    assert got["hardcoder"] == 2
    notes = {key: found["notes"] for key, found in read_notes(root).items()}
    assert any("hidden test" in note for note in notes["hardcoder/residual_networks"])
    # The feedback says why, in nbgrader's comment under the answer, not only "passed" from the kernel.
    feedback = (root / "feedback" / "hardcoder" / LESSON / f"{LESSON}.html").read_text()
    assert "Comments:" in feedback and "identity_block_training_false: hidden test on unseen inputs failed" in feedback


def test_dead_kernels_keep_earlier_grades_with_a_reason(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    got = scores(root)
    assert got["dies"] == MAX - 2  # everything before the death; load_dataset's 2 points after it are lost
    assert got["hog"] == 10  # both blocks graded before the allocation
    notes = {key: found["notes"] for key, found in read_notes(root).items()}
    assert "exit code 3" in " ".join(notes["dies/residual_networks"])
    assert "memory" in " ".join(notes["hog/residual_networks"])
    after = autograded(root, "dies").cells[_cell(autograded(root, "dies"), "load_dataset_images")]
    assert "NotRun" in json.dumps(after.outputs)


def test_the_robust_submission_shows_its_disturbances(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    notebook = autograded(root, "robust")
    text = json.dumps(notebook)
    assert "CellTimeoutError" in text
    printed = "".join(outputs_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "NO SOLUTIONS HERE" in printed and "SOLUTIONS IMPORTED" not in printed
    restored = notebook.cells[_cell(notebook, "identity_block_training_true")]
    assert restored.source.startswith("check.identity_block_training_true(identity_block)")
    assert _cell(notebook, "convolutional_block_training_true")  # re-added
    feedback = (root / "feedback" / "robust" / LESSON / f"{LESSON}.html").read_text()
    assert "output truncated" in feedback and len(feedback) < 3_000_000


def test_feedback_renders_figures_and_messages(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    solved = (root / "feedback" / "solved" / LESSON / f"{LESSON}.html").read_text()
    assert solved.count("data:image/png;base64") >= 5
    untouched = (root / "feedback" / "untouched" / LESSON / f"{LESSON}.html").read_text()
    assert "replace every" in untouched  # the stub hint reaches the student
    # --jobs 2 splits feedback between two nbgrader processes: every graded student still gets it.
    graded_students = {path.parent.name for path in (root / "autograded").glob(f"*/{LESSON}")}
    with_feedback = {path.parent.parent.name for path in (root / "feedback").glob(f"*/{LESSON}/{LESSON}.html")}
    assert len(graded_students) == 8 and with_feedback == graded_students


def test_report(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    report = (root / "report.md").read_text()
    assert "| solved | residual_networks | 18 / 18 |" in report
    assert "sandboxed with bubblewrap" in report  # the batch says how its kernels ran
    assert "report.png" in report and (root / "report.png").stat().st_size > 10_000
    assert "identity_block_shape" in report


def test_regrading_is_idempotent(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, _ = graded
    before = scores(root)
    again = run_grade(root, {KERNELS_AHEAD_ENV: "0"})  # and no kernel started ahead, not even each worker's first
    assert again.returncode == 0, again.stderr[-2000:]
    assert scores(root) == before
    stats = json.loads((root / "grading_stats.json").read_text(encoding="utf-8"))
    graded = [entry for name, entry in stats.items() if not name.startswith("_") and entry.get("job_runner")]
    assert graded and not any(entry["kernel_started_ahead"] for entry in graded)
    with open(root / "grades.csv", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["assignment"] == LESSON]
    assert len(rows) == len(before)


def test_only_the_main_process_writes_the_gradebook(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    """Workers grade in private gradebooks; every write to the course's comes from this process's main thread."""

    from autograder.course import grade as grading
    from autograder.course.gradebook import GradebookWriter

    root = build_course(tmp_path_factory.mktemp("small") / "course", "en")
    release = nbformat.read(root / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    for student in ("a", "b", "c"):
        shutil.copytree(root / "release" / LESSON, root / "submitted" / student / LESSON)
        nbformat.write(solve(release, LESSON) if student == "a" else release,
                       root / "submitted" / student / LESSON / f"{LESSON}.ipynb")
    (root / "submitted" / "d" / LESSON).mkdir(parents=True)  # no notebook: recorded with 0
    writers: list[tuple[int, str]] = []
    for name in ("merge", "record_zero"):
        original = getattr(GradebookWriter, name)

        def spy(*args: object, _original=original, **kwargs: object) -> object:
            writers.append((os.getpid(), threading.current_thread().name))
            return _original(*args, **kwargs)

        monkeypatch.setattr(GradebookWriter, name, spy)
    # nbgrader's export must find every grade committed, however quickly the last outcomes came.
    monkeypatch.setattr(grading, "GradebookWriter", functools.partial(GradebookWriter, commit_every=3600))
    exported_while_writing: list[bool] = []

    def export(course: Path, *args: str) -> None:
        probe = sqlite3.connect(course / "gradebook.db", timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")  # refused while the writer holds an open transaction
            probe.execute("ROLLBACK")
            exported_while_writing.append(False)
        except sqlite3.OperationalError:
            exported_while_writing.append(True)
        finally:
            probe.close()
        nbgrader(course, *args)

    monkeypatch.setattr(grading, "nbgrader", export)
    monkeypatch.delenv(grading.KERNELS_AHEAD_ENV, raising=False)  # kernels ahead where the cores allow
    temporary = Path(tempfile.gettempdir())
    left_before = set(temporary.glob("autograder-*"))
    grading.grade(root, jobs=2, progress=False)
    assert set(temporary.glob("autograder-*")) <= left_before  # the workers' files went with their folders
    assert len(writers) == 4 and set(writers) == {(os.getpid(), threading.main_thread().name)}
    assert exported_while_writing == [False]
    assert scores(root) == {"a": MAX, "b": 0, "c": 0, "d": 0}
    # The graded folders came back from the workers as bytes.
    assert all((root / "autograded" / s / LESSON / f"{LESSON}.ipynb").is_file() for s in "abc")
    # Each job was a fork of its worker's job server, and each worker was warmed before its first submission
    # (the warm-up's time is reported with that submission).
    stats = json.loads((root / "grading_stats.json").read_text(encoding="utf-8"))
    graded = {name: entry for name, entry in stats.items() if not name.startswith("_") and entry.get("job_runner")}
    assert set(graded) == {f"{student}/{LESSON}" for student in "abc"}
    assert {entry["job_runner"] for entry in graded.values()} == {"job server"}
    # ... in a kernel its job server had started while the worker warmed up (every worker's first) or graded the
    # one before (where a worker's share of the cores leaves one idle; on 2 cores --jobs 2 leaves none): the
    # solved submission's full score shows such a kernel ran it in its graded folder, with the run's seed.
    share = max(1, usable_cores() // 2)
    for entry in graded.values():
        assert entry["kernel_started_ahead"] == (entry["task_on_worker"] == 1 or share > 1), entry
    assert all({"job_start", "kernel_start", "cells", "hidden_tests", "feedback"} <= set(entry["phases"])
               for entry in graded.values())
    # Both workers graded (each took one while the other was busy) and both were warmed, not only the first
    # worker to register with the scheduler.
    firsts = [entry for entry in graded.values() if entry["task_on_worker"] == 1]
    assert len(firsts) == 2 and all(entry.get("warm_up_before", 0) > 0 for entry in firsts)


def test_a_worker_warms_up_by_writing_a_feedback_page_it_throws_away(course: Path) -> None:
    """The warm-up writes a page the way a submission's is written (or says why not), and leaves nothing."""
    from autograder.grader.feedback import warm_up

    temporary = Path(tempfile.gettempdir())
    before = set(temporary.glob("autograder-warm-feedback-*"))
    gradebook = (course / "gradebook.db").read_bytes()
    warm_up(course, LESSON)
    assert set(temporary.glob("autograder-warm-feedback-*")) == before
    assert (course / "gradebook.db").read_bytes() == gradebook  # the course's own gradebook is not touched
    with pytest.raises(OSError):
        warm_up(course, "no_such_lesson")  # a page that cannot be written says so (the worker then goes on)


def test_nbgrader_cli_skips_only_the_slow_optional_import() -> None:
    code = ("import sys\nsys.argv = ['nbgrader', '--version']\nfrom autograder.grader import nbgrader_cli\n"
            "try:\n    nbgrader_cli.main()\nexcept SystemExit:\n    pass\n"
            "import nbformat\nnbformat.validate(nbformat.v4.new_notebook())\n"
            "print('LOADED' if sys.modules.get('rfc3987_syntax') else 'SKIPPED')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == "SKIPPED"


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=300)

    for args in (["course", "c", "--lang", "de"], ["grade", str(tmp_path)], ["solve", "nothing.ipynb", "-o", "x"]):
        result = run(*args)
        assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    (tmp_path / "broken.ipynb").write_text("{")
    result = run("solve", "broken.ipynb", "-o", "out.ipynb")
    assert result.returncode != 0 and "not a readable notebook" in result.stderr
    empty = run("course", "empty", "--lang", "en")
    assert empty.returncode == 0
    result = run("grade", "empty")
    assert result.returncode != 0 and "no submissions" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb", "empty"]
