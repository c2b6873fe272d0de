"""What a student or an instructor meets before any exercise: a quiet first cell, figures that travel
with the notebook, and commands that work from any folder and however the environment's Python is called.

The first cells run in fresh kernels without ``TF_CPP_MIN_LOG_LEVEL`` (a student sets none); the course
is built by ``<this Python> -m autograder`` with no PATH entry that holds nbgrader's helper ``alembic``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import LANGS, LESSONS, ROOT, executed, student_notebook
from nbclient import NotebookClient

from autograder.authoring import notebooks
from autograder.course import CourseError
from autograder.course.create import nbgrader
from autograder.grader.nbgrader_cli import error_cause
from autograder.learner import startup

# What TensorFlow 2.21 printed on fd 2 on this machine (import, then the first device query).
TF_STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795378639.404115    6097 port.cc:153] oneDNN custom operations are on. You may see slightly \
different numerical results due to floating-point round-off errors from different computation orders.
I0000 00:00:1795378639.405167    6097 cudart_stub.cc:31] Could not find cuda drivers on your machine, \
GPU will not be used.
I0000 00:00:1795378639.779052    6097 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available \
CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the appropriate \
compiler flags.
E0000 00:00:1795378651.056696    6664 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call \
to cuInit: UNKNOWN ERROR (303)
"""
REAL = [
    "E0000 00:00:1795378651.056700    6664 bfc_allocator.cc:485] Allocator ran out of memory trying to allocate 2.0GiB",
    "Traceback (most recent call last):",
    '  File "<string>", line 1, in <module>',
    "ImportError: libcudart.so.12: cannot open shared object file",
    "/usr/lib/python3/site-packages/h5py/__init__.py:36: UserWarning: h5py is running against HDF5 1.10.7",
]


def test_startup_noise_is_dropped_and_everything_else_kept() -> None:
    kept = startup.without_startup_noise(TF_STARTUP + "\n".join(REAL) + "\n", min_level=2)
    assert kept.splitlines() == REAL
    # A student who asks for TensorFlow's log (TF_CPP_MIN_LOG_LEVEL=0) gets all of it, less absl's banner.
    assert startup.without_startup_noise(TF_STARTUP, min_level=0) == TF_STARTUP.split("\n", 1)[1]


def test_filtered_stderr_passes_on_what_is_not_noise(capfd: pytest.CaptureFixture[str]) -> None:
    with startup.filtered_stderr(min_level=2):
        os.write(2, TF_STARTUP.encode())
        os.write(2, (REAL[0] + "\n").encode())
    err = capfd.readouterr().err
    assert err == REAL[0] + "\n"


def _student_kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TF_CPP_MIN_LOG_LEVEL", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(name, raising=False)


def _first_code_cell(notebook: nbformat.NotebookNode) -> str:
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code")


# After the imports: the first TensorFlow operation (it used to print ``failed call to cuInit``) and a short fit.
AFTER_IMPORTS = """\
x = tf.reduce_sum(tf.ones((2, 3)))
model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(np.ones((8, 4)), np.eye(2)[[0, 1] * 4], epochs=1, verbose=0)
print(float(x))
"""


@pytest.mark.parametrize("lesson", LESSONS)
def test_first_cell_of_a_fresh_kernel_prints_nothing(lesson: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _student_kernel_env(monkeypatch)
    path = student_notebook(lesson, "en")
    cells = [_first_code_cell(nbformat.read(path, as_version=4)), AFTER_IMPORTS]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                   ).execute()
    imports, after = notebook.cells
    assert imports.outputs == [], imports.outputs
    assert [(o.output_type, o.get("name"), o.get("text")) for o in after.outputs] == [("stream", "stdout", "6.0\n")]


@pytest.mark.parametrize("lesson", LESSONS)
@pytest.mark.parametrize("lang", LANGS)
def test_no_cell_of_a_validated_notebook_writes_to_stderr(lesson: str, lang: str) -> None:
    """The whole solved lesson as nbgrader's Validate runs it (fast mode; the run test_notebooks.py shares)."""
    notebook = executed(lesson, lang, "solved")
    stderr = [(index, output.text[:300]) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "stream" and output.name == "stderr"]
    assert stderr == []


def test_the_first_cell_is_the_same_in_both_languages_apart_from_comments() -> None:
    for lesson in LESSONS:
        first = {lang: _first_code_cell(nbformat.read(student_notebook(lesson, lang), as_version=4)) for lang in LANGS}
        code = {lang: [line for line in text.splitlines() if not line.lstrip().startswith("#")]
                for lang, text in first.items()}
        assert code["en"] == code["ru"]
        assert code["en"][:2] == ["from autograder.learner.startup import quiet_tensorflow_start", ""]
        assert "quiet_tensorflow_start()" in code["en"]


@pytest.mark.parametrize("lesson", LESSONS)
@pytest.mark.parametrize("lang", LANGS)
def test_figures_travel_inside_the_notebook(lesson: str, lang: str) -> None:
    """Each figure is an attachment of its cell, so it shows wherever the notebook file is opened."""
    notebook = nbformat.read(student_notebook(lesson, lang), as_version=4)
    source = (ROOT / "notebooks" / "src" / f"{lesson}.lesson").read_text(encoding="utf-8")
    expected = len(notebooks.FIGURE.findall(source)) // len(LANGS)
    shown = 0
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        assert "<img" not in cell.source and "images/" not in cell.source, cell.source[:200]
        for name in re.findall(r"!\[[^\]]*\]\(attachment:([^)]+)\)", cell.source):
            attachment = cell.get("attachments", {}).get(name, {})
            assert attachment.get("image/png", "").startswith("iVBORw0KGgo"), name  # a base64 PNG
            assert (ROOT / "images" / lang / name).is_file()
            shown += 1
        assert set(cell.get("attachments", {})) <= set(re.findall(r"attachment:([^)]+)\)", cell.source))
    assert expected >= 3 and shown == expected


# --- the command line, whatever the working folder and however Python is called --------------------------------------


def test_solve_works_from_any_folder(tmp_path: Path) -> None:
    student = student_notebook("residual_units", "ru")
    run = subprocess.run([sys.executable, "-m", "autograder", "solve", str(student), "-o", "solved"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # not even TensorFlow's start-up lines
    solved = nbformat.read(tmp_path / "solved" / student.name, as_version=4)
    answers = [cell.source for cell in solved.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    assert answers and not any("..." in source for source in answers)


def _path_without_alembic() -> str:
    """PATH less every folder with an ``alembic`` (the environment's bin/, a pyenv shims folder)."""
    entries = [entry for entry in os.environ.get("PATH", "").split(os.pathsep)
               if entry and not (Path(entry) / "alembic").exists()]
    path = os.pathsep.join(entries)
    assert shutil.which("alembic", path=path) is None
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course built by ``<sys.executable> -m autograder course`` without the environment's bin/ on PATH."""
    root = tmp_path_factory.mktemp("student_env") / "course"
    env = os.environ | {"PATH": _path_without_alembic()}
    run = subprocess.run([sys.executable, "-m", "autograder", "course", str(root), "--lang", "ru"],
                         cwd=root.parent, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return root


def test_course_builds_with_the_environments_python_called_by_its_path(course: Path) -> None:
    assert (course / "gradebook.db").is_file()
    for lesson in LESSONS:
        assert (course / "release" / lesson / f"{lesson}.ipynb").is_file()
        assert (course / "release" / lesson / "autograder" / "learner" / "startup.py").is_file()  # the 1st cell's


# The end of nbgrader's log when it could not run ``alembic`` (before nbgrader_cli put the scripts folder on PATH).
ALEMBIC_LOG = """\
[GenerateAssignmentApp | INFO] Updating/creating assignment 'residual_units': {}
[GenerateAssignmentApp | ERROR] There was an error processing assignment: /tmp/c2/source/./residual_units
[GenerateAssignmentApp | ERROR] Traceback (most recent call last):
      File "/venv/lib/python3.11/site-packages/nbgrader/api.py", line 37, in get_alembic_version
        output = sp.check_output(['alembic', '-c', alembic_ini, 'heads'])
                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "/usr/lib/python3.11/subprocess.py", line 1950, in _execute_child
        raise child_exception_type(errno_num, err_msg, err_filename)
    FileNotFoundError: [Errno 2] No such file or directory: 'alembic'

[GenerateAssignmentApp | WARNING] Removing failed assignment: /tmp/c2/release/residual_units
[GenerateAssignmentApp | ERROR] There was an error processing assignment 'residual_units' for student '.'
[GenerateAssignmentApp | ERROR] Please see the the above traceback for details on the specific errors on the \
above failures.
"""


def test_error_cause_is_the_exception_not_the_closing_line() -> None:
    assert error_cause(ALEMBIC_LOG) == "FileNotFoundError: [Errno 2] No such file or directory: 'alembic'"
    no_traceback = "[AutogradeApp | ERROR] No notebooks were matched by 'x/*.ipynb'\n[AutogradeApp | ERROR] Please " \
                   "see the the above traceback for details on the specific errors on the above failures.\n"
    assert error_cause(no_traceback) == "[AutogradeApp | ERROR] No notebooks were matched by 'x/*.ipynb'"
    assert error_cause("") == ""


def test_a_failed_nbgrader_step_names_its_cause(course: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(course, broken)
    (broken / "gradebook.db").write_text("this is not a database\n", encoding="utf-8")
    with pytest.raises(CourseError) as failure:
        nbgrader(broken, "generate_assignment", LESSONS[0], "--force")
    message = str(failure.value)
    assert "file is not a database" in message, message
    assert "above traceback" not in message
