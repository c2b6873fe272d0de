"""The grading engine's small parts, each on its own: no kernel starts."""

from __future__ import annotations

import datetime
import io
import json
import os
import ssl
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.course import CourseError
from autograder.course.certificates import make_certificates
from autograder.course.cluster import usable_cores
from autograder.course.journal import Entry, Journal
from autograder.course.policy import Policy, policies
from autograder.grader.limits import DEFAULT
from autograder.grader.nbgrader_cli import error_cause
from autograder.grader.payload import CellGrade, CourseFiles, Grades, NotebookGrades, Outcome, SubmissionKey
from autograder.grader.sandbox import bwrap_command
from autograder.learner.checks.hidden import RECORDING_NAME, parse_recording
from autograder.learner.lesson import lessons

T0 = datetime.datetime(2026, 12, 1, 12, 0)


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_recordings_are_read_as_data() -> None:
    assert parse_recording({"a.npz": npz(x=np.arange(3))}, "a")["x"].tolist() == [0, 1, 2]
    assert parse_recording({}, "a") == "nothing was recorded"
    assert parse_recording({"a.error.txt": b"ValueError: no"}, "a") == "ValueError: no"
    pickled = io.BytesIO()
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("x.npy", pickled.getvalue())
    with pytest.raises(ValueError):  # no pickles, ever
        parse_recording({"a.npz": archive.getvalue()}, "a")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("x.npy", b"\0" * (300 * 2**20))
    assert "larger than" in parse_recording({"a.npz": bomb.getvalue()}, "a")
    assert RECORDING_NAME.match("identity_block_shape.npz") and not RECORDING_NAME.match("../x.npz")


NBGRADER_LOG = """[AutogradeApp | INFO] Converting notebook x.ipynb
[AutogradeApp | ERROR] There was an error processing assignment: /tmp/x
[AutogradeApp | ERROR] Traceback (most recent call last):
      File "/nbgrader/converters/base.py", line 390, in convert_notebooks
        self.convert_single_notebook(notebook_filename)
    KeyError: 'grade_id'
[AutogradeApp | ERROR] Please see the the above traceback for details on the specific errors on the above failures.
"""


def test_the_cause_is_read_from_nbgraders_log() -> None:
    assert error_cause(NBGRADER_LOG) == "KeyError: 'grade_id'"
    assert error_cause("") == ""
    log = "[App | ERROR] disk full\n[App | ERROR] Please see the above traceback"
    assert error_cause(log) == "[App | ERROR] disk full"


def test_every_lesson_is_declared_once_with_its_exercises() -> None:
    declared = lessons()
    assert list(declared) == ["residual_networks", "residual_units"]
    for name, lesson in declared.items():
        assert lesson.name == name and lesson.exercises
        assert (Path(__file__).parents[2] / "notebooks" / "src" / f"{name}.lesson").is_file()
        for exercise in lesson.exercises:
            assert lesson.exercise_of(f"{exercise}_anything") == exercise
        with pytest.raises(KeyError):
            lesson.exercise_of("nothing_of_this_lesson")


def test_policy_counts_graded_submissions_in_a_sliding_window() -> None:
    policy = Policy(submissions=2, window_minutes=60)
    assert policy.next_allowed([], T0) is None
    assert policy.next_allowed([T0 - datetime.timedelta(minutes=50)], T0) is None
    busy = [T0 - datetime.timedelta(minutes=50), T0 - datetime.timedelta(minutes=10)]
    assert policy.next_allowed(busy, T0) == T0 + datetime.timedelta(minutes=10)
    assert policy.next_allowed([T0 - datetime.timedelta(minutes=70)] * 5, T0) is None
    assert policy.feedback(None, T0) == "full"
    assert Policy(before_due="score").feedback(T0 + datetime.timedelta(days=1), T0) == "score"
    assert Policy(before_due="score").feedback(T0 - datetime.timedelta(days=1), T0) == "full"


def test_policies_come_from_the_course_with_defaults_and_clear_errors() -> None:
    course = {"lessons": ["a", "b"], "on_submit": {"default": {"submissions": 5}, "b": {"final": "best"}}}
    found = policies(course)
    assert found["a"] == Policy(submissions=5) and found["b"] == Policy(submissions=5, final="best")
    assert policies({"lessons": ["a"]})["a"] == Policy()
    for wrong, key in (({"default": {"colour": 1}}, "policy_unknown"), ({"a": {"extra": "maybe"}}, "policy_choice"),
                       ({"a": {"submissions": 0}}, "policy_number"), ({"zz": {}}, "policy_lesson")):
        with pytest.raises(CourseError) as raised:
            policies({"lessons": ["a"], "on_submit": wrong})
        assert raised.value.key == key


def test_the_journal_survives_a_restart(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "journal.json")
    journal.entries["x"] = Entry("x", "alice", "lesson", "2026-12-01T12:00:00", 7, state="grading")
    journal.save()
    again = Journal.open(tmp_path / "journal.json")
    assert again.entries["x"].seed == 7 and again.in_state("grading")[0].key == SubmissionKey("alice", "lesson")
    assert not (tmp_path / "journal.partial").exists()


def test_an_outcome_distinguishes_not_gradable_from_a_zero() -> None:
    zero = Grades(None, {"n": NotebookGrades(False, 0.0, {"c": CellGrade(0.0)}, {})})
    assert Outcome(SubmissionKey("a", "l"), "graded", grades=zero).grades.score == 0
    missing = Outcome.without_grades(SubmissionKey("a", "l"), "not_gradable", "no notebook")
    assert missing.grades is None and missing.reason == "no notebook"
    files = CourseFiles("c", "l", "en", {"source/l/l.ipynb": b"{}", "source/l/data/x.h5": b"x",
                                         "nbgrader_config.py": b""}, b"def f(): pass")
    assert files.lesson_files() == {"data/x.h5"} and len(files.digest) == 16


def test_the_sandbox_command_is_what_the_security_model_says(tmp_path: Path) -> None:
    """Namespaces, limits, the kernel's own uid and process budget; only the environment and its folders bound."""
    command = bwrap_command(["python", "-m", "ipykernel"], str(tmp_path), [str(tmp_path / "ipc")], DEFAULT,
                            uid=1_000_123)
    joined = " ".join(command)
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--clearenv", "--die-with-parent",
                 f"--size {DEFAULT.kernel_tmp} --tmpfs /tmp", f"--bind {tmp_path} {tmp_path}",
                 "--reuid=1000123", "--bounding-set=-all"):
        assert flag in joined, flag
    sources = [command[i + 1] for i, arg in enumerate(command) if arg in ("--bind", "--ro-bind", "--dev-bind")]
    from autograder import paths

    assert not {"/", "/root", "/home", "/tmp", "/etc", str(paths.REPO)} & set(sources), sources
    assert not any(source.startswith(str(paths.REPO) + "/") for source in sources), sources
    limit = command.index("-c") + 2  # python -I -c SET_PROCESS_LIMIT N kernel...
    assert command[limit] == str(DEFAULT.kernel_processes) and command[limit + 1:] == ["python", "-m", "ipykernel"]
    assert "RLIMIT_NPROC" in command[limit - 1]


def test_cluster_certificates_sign_each_other_and_keep_keys_secret(tmp_path: Path) -> None:
    paths = make_certificates(tmp_path / "tls")
    assert os.stat(paths["cluster-key.pem"]).st_mode & 0o077 == 0 and os.stat(tmp_path / "tls").st_mode & 0o077 == 0
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(paths["ca.pem"]))
    context.load_cert_chain(paths["cluster.pem"], paths["cluster-key.pem"])  # the key matches the certificate
    with pytest.raises(CourseError):
        make_certificates(tmp_path / "tls")  # never over existing keys


def test_limits_have_one_home_and_round_trip() -> None:
    changed = DEFAULT.replace(disk=5, submission_time=None)
    assert changed.disk == 5 and changed.submission_time == DEFAULT.submission_time
    assert type(DEFAULT).from_dict(json.loads(json.dumps(changed.to_dict()))) == changed
    assert DEFAULT.file_size == DEFAULT.disk and DEFAULT.job_seconds > DEFAULT.submission_time


def test_the_service_waits_until_nbgrader_has_finished_writing_a_submission(tmp_path: Path) -> None:
    """nbgrader's submit writes submission_secret.txt last: before it, or while the folder changes, wait."""
    from autograder.course.service import complete

    now = datetime.datetime(2026, 12, 6, 12, 0, 0)
    folder = tmp_path / "alice+lesson+time+abc"
    folder.mkdir()
    (folder / "lesson.ipynb").write_text("{")
    assert not complete(folder, now - datetime.timedelta(seconds=10), now)  # no secret yet: maybe half copied
    assert complete(folder, now - datetime.timedelta(seconds=40), now)  # made by hand, long quiet
    (folder / "submission_secret.txt").write_text("s")
    assert not complete(folder, now - datetime.timedelta(seconds=0.5), now)
    assert complete(folder, now - datetime.timedelta(seconds=3), now)


def _in_a_fork(work: Path) -> int:
    """In a forked child: the job server's bounded mounts, then write past them; the exit status says what held."""
    import errno

    from autograder.grader.job_server import bounded_mounts

    pid = os.fork()
    if pid:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    code = 1
    try:
        try:
            bounded_mounts(str(work), str(work / "hidden"), str(work.parent / "ipc"), 2**20, 2**19, 2**18)
        except OSError:
            code = 2
            raise
        with open(work / "fill.bin", "wb") as fill:  # a job's disk holds 1 MiB
            try:
                fill.write(b"x" * 2**21)
                fill.flush()
            except OSError as error:
                code = 10 if error.errno == errno.ENOSPC else 11
        with open(work / "hidden" / "rec.bin", "wb") as recording:  # its recordings have room of their own
            recording.write(b"y" * 2**18)
        code += 20 if (work / "hidden" / "rec.bin").stat().st_size == 2**18 else 0
    finally:
        os._exit(code)


def test_a_forked_job_gets_bounded_disks_that_vanish_with_it(tmp_path: Path) -> None:
    """What the job server gives each job in place of bubblewrap's ``--size --tmpfs``: ENOSPC at the limit,
    nothing written to the real folder, nothing mounted outside the job."""
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "ipc").mkdir()
    code = _in_a_fork(work)
    if code == 2 and os.geteuid() != 0:
        pytest.skip("not root, and user namespaces are not open to this user here: jobs run under bubblewrap")
    assert code == 30  # ENOSPC at 1 MiB, and the recordings' own disk took its 256 KiB
    assert list(work.iterdir()) == []  # the tmpfs went with the child's namespace
    assert str(work) not in Path("/proc/self/mountinfo").read_text()


def test_kernels_share_the_cores_this_process_may_use() -> None:
    """``--jobs`` splits the cores the grader may run on (taskset, a container's cpuset), not the machine's."""
    assert usable_cores() == len(os.sched_getaffinity(0))
    pinned = subprocess.run([sys.executable, "-c", "from autograder.course.cluster import usable_cores; "
                             "print(usable_cores())"], capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert pinned.stdout.split() == ["1"], pinned.stderr
