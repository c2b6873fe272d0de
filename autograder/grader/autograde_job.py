"""``python -m autograder.grader.autograde_job SPEC``: nbgrader's autograde of one submission, on a bounded disk.

A grading worker starts this process for each submission (:func:`job_command`). With the sandbox on,
it runs in a mount namespace of its own (bubblewrap, a user namespace when the grader is not root)
where the job's work folder is a tmpfs of ``limits.disk`` bytes: everything of the job lives there —
nbgrader's copy of the submission, the folder the learner's kernel runs and writes in, its recordings
and IPC sockets — so a kernel that writes too much gets ENOSPC, never the machine's disk, and hard
links into the course's files cannot be made (another file system). Here nbgrader autogrades the
submission (the kernel itself runs in its own sandbox, ``autograder.grader.sandbox``), then this
process copies back, bounded by ``limits`` (files, bytes, depth, time), only what the grader needs to
the job's outbox on the real disk:

* ``graded/`` — the graded notebook and the files the learner's code wrote; not the lesson's runtime
  and data, which nbgrader copies from ``source/`` into every graded folder and restores from there;
* ``hidden/`` — the hidden tests' recordings (known names, plain files, bounded size);
* ``gradebook.db`` (the private one), ``kernel.json`` (peak memory, the kernel's death) and
  ``job.json`` (nbgrader's exit status, what was left out).

When this process ends, the tmpfs goes with its namespace, however many files the kernel made.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.grader.folders import read_folder, write_folder
from autograder.grader.limits import Limits
from autograder.learner.checks.hidden import RECORD_ENV, RECORDING_NAME, SEED_ENV

# The kernels' unix sockets: a socket's path must be short (108 bytes) and the job's folder is deep in the
# worker's scratch folder, so the job gets a small tmpfs of its own over this short, always-present folder.
IPC_ROOT = "/dev/shm"
IPC_ROOT_ENV = "AUTOGRADER_IPC_ROOT"
IPC_SIZE = 16 * 2**20
# The hidden tests' recordings get a small disk of their own: a kernel that fills its folder must not also
# take the room its own recordings need.
RECORDINGS_SIZE = 256 * 2**20
# A kernel's TensorFlow threads at most. Fast mode's ops are tiny (one image through ResNet-50), so its time is
# per-op overhead that a second thread does not shorten (benchmarks/README.md, "One thread per kernel").
KERNEL_THREADS = 1


@dataclass
class RunSpec:
    """Where one autograde job finds its inputs and leaves its results (paths on the worker)."""

    course: str  # the lesson's course files: nbgrader_config.py, gradebook.db, source/<lesson>/
    lesson: str
    student: str
    language: str
    inbox: str  # the submitted files
    work: str  # where nbgrader works (the bounded tmpfs when sandboxed)
    outbox: str  # where the bounded results go
    seed: int
    threads: int
    sandbox: bool
    limits: dict
    launched: float = 0.0  # time.time() when the worker started this process (its start-up is measured)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RunSpec:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def job_command(spec_path: Path, spec: RunSpec) -> list[str]:
    """The command that runs the job: in its bounded mount namespace when sandboxed, directly otherwise."""
    runner = [sys.executable, "-I", "-m", "autograder.grader.autograde_job", str(spec_path)]  # -I: no cwd on sys.path
    if not spec.sandbox:
        return runner
    from autograder.grader.sandbox import BWRAP, bwrap_path

    user = [] if os.geteuid() == 0 else ["--unshare-user"]  # root mounts without one
    disk = Limits.from_dict(spec.limits).disk
    hidden = str(Path(spec.work) / "hidden")
    return [bwrap_path() or BWRAP, *user, "--dev-bind", "/", "/", "--size", str(disk), "--perms", "0700",
            "--tmpfs", spec.work, "--perms", "0700", "--dir", hidden, "--size", str(RECORDINGS_SIZE), "--perms",
            "0700", "--tmpfs", hidden, "--size", str(IPC_SIZE), "--perms", "0700", "--tmpfs", IPC_ROOT,
            "--die-with-parent", "--", *runner]


def _config_overlay(spec: RunSpec, limits: Limits, work: Path) -> str:
    """This job's nbgrader configuration: the course's, then what the job needs whatever the course's age.

    Older courses get the same pipeline (sanitised notebook, robust cell handling) as new ones.
    """
    lines = [
        "c = get_config()  # noqa: F821",
        f"load_subconfig({str(Path(spec.course) / 'nbgrader_config.py')!r})  # noqa: F821",
        "from autograder.grader.pipeline import autograde_pipeline",
        "autograde_pipeline(c)",
        f"c.CourseDirectory.root = {str(work)!r}",
        f"c.RobustExecute.memory_limit = {limits.memory!r}",
        f"c.RobustExecute.time_limit = {limits.submission_time!r}",
        f"c.RobustExecute.interrupt_grace = {limits.interrupt_grace!r}",
        f"c.RobustExecute.sandbox = {spec.sandbox!r}",
        f"c.RobustExecute.language = {spec.language!r}",
        f"c.RobustExecute.report_file = {str(Path(spec.outbox) / 'kernel.json')!r}",  # off the bounded disk
        f"c.RobustExecute.keep_file_bytes = {limits.returned_file_bytes!r}",
        f"c.RobustExecute.keep_folder_bytes = {limits.returned_bytes!r}",
        f"c.LimitOutputSize.max_chars = {limits.output_chars!r}",
        f"c.LimitOutputSize.language = {spec.language!r}",
        f"c.LimitOutput.max_lines = {limits.output_lines!r}",
        f"c.LimitOutput.max_traceback = {limits.traceback_lines!r}",
        f"c.SanitizeNotebook.language = {spec.language!r}",
        f"c.SanitizeNotebook.source_notebook = "
        f"{str(Path(spec.course) / 'source' / spec.lesson / f'{spec.lesson}.ipynb')!r}",
    ]
    from autograder.grader import spare_kernel

    if spare_kernel.waiting():  # nbgrader's graded folder will be the waiting kernel's (spare_kernel)
        lines.append("c.Autograde.pre_convert_hook = 'autograder.grader.spare_kernel.adopt_folder'")
    return "\n".join(lines) + "\n"


def prepare(spec: RunSpec, limits: Limits) -> Path:
    """The job's course folder in ``work``: the course's files by link, a gradebook and the submission of its own."""
    work = Path(spec.work)
    for folder in ("tmp", "hidden"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    (work / "source").symlink_to(Path(spec.course) / "source", target_is_directory=True)
    shutil.copyfile(Path(spec.course) / "gradebook.db", work / "gradebook.db")
    submitted = work / "submitted" / spec.student / spec.lesson
    submitted.mkdir(parents=True)
    shutil.copytree(spec.inbox, submitted, dirs_exist_ok=True)
    (work / "nbgrader_config.py").write_text(_config_overlay(spec, limits, work), encoding="utf-8")
    return work


def tensorflow_threads(share: int) -> int:
    """A grading kernel's TensorFlow threads, given its share of the machine's cores."""
    return max(1, min(share, KERNEL_THREADS))


def job_environment(work: Path, threads: int, limits: Limits, sandbox: bool, seed: int | None) -> None:
    """The environment nbgrader and its kernels get (``seed`` None: not known yet, for a kernel started ahead)."""
    os.environ.pop("PYTHONPATH", None)  # the grader's paths (the reference) stay out of nbgrader's kernels
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "TMPDIR": str(work / "tmp"),  # the kernels' IPC folders live on the bounded disk too
        RECORD_ENV: str(work / "hidden"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Parallel kernels share the cores instead of each starting a thread per core; in fast mode one
        # thread is enough (KERNEL_THREADS), and the cores it leaves start the next kernel.
        "TF_NUM_INTRAOP_THREADS": str(tensorflow_threads(threads)), "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": str(tensorflow_threads(threads)),
        # oneDNN's kernels pay a layout conversion per op that fast mode's one-image calls never win back.
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "AUTOGRADER_LIMITS": json.dumps(limits.to_dict()),
    })
    if seed is not None:  # not a secret (README's security model): the reference, which the sandbox hides, decides
        os.environ[SEED_ENV] = str(seed)
    if sandbox:
        os.environ[IPC_ROOT_ENV] = IPC_ROOT


def run_autograde(spec: RunSpec) -> int:
    """nbgrader's own ``autograde`` command, in this process; its exit status."""
    from autograder.grader.nbgrader_cli import find_own_scripts, skip_slow_imports

    skip_slow_imports()
    find_own_scripts()
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app = NbGraderApp.instance()
    try:
        app.initialize(["autograde", spec.lesson, "--student", spec.student, "--force"])
        app.start()
    except NoStart:  # nbgrader's way of saying its subcommand has finished
        return 0
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    except Exception as error:  # noqa: BLE001 - reported in the log, judged by the worker
        print(f"[autograde_job | ERROR] {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def _is_cache(relative: str) -> bool:
    """Python's byte-code caches: written by imports, not by the learner."""
    return "__pycache__" in Path(relative).parts or relative.endswith(".pyc")


def _lesson_files(spec: RunSpec) -> frozenset[str]:
    """The lesson's runtime and data, as nbgrader copies them into every graded folder (not the notebook)."""
    source = Path(spec.course) / "source" / spec.lesson
    return frozenset(str(path.relative_to(source)) for path in source.rglob("*")
                     if path.is_file() and path.suffix != ".ipynb")


def export(spec: RunSpec, limits: Limits, work: Path, exit_code: int) -> dict:
    """Copy back, bounded, what the grader needs (see the module's docstring); the job's summary for job.json."""
    outbox = Path(spec.outbox)
    graded = read_folder(work / "autograded" / spec.student / spec.lesson, limits, skip=_lesson_files(spec))
    write_folder(outbox / "graded", {name: data for name, data in graded.files.items() if not _is_cache(name)})
    recordings = read_folder(work / "hidden", limits.replace(returned_file_bytes=limits.recording_bytes),
                             max_bytes=limits.recording_bytes * 16)
    write_folder(outbox / "hidden", {name: data for name, data in recordings.files.items()
                                     if RECORDING_NAME.match(name) and len(data) < limits.recording_bytes})
    if (work / "gradebook.db").is_file():
        shutil.copyfile(work / "gradebook.db", outbox / "gradebook.db")
    left_out = {kind: {"count": left.count, "examples": left.examples} for kind, left in graded.left_out.items()}
    report = outbox / "kernel.json"
    deleted = json.loads(report.read_text(encoding="utf-8")).get("deleted", {}) if report.is_file() else {}
    for kind, left in deleted.items():  # what the executor deleted to make room counts as left out too
        merged = left_out.setdefault(kind, {"count": 0, "examples": []})
        merged["count"] += left["count"]
        merged["examples"] = (merged["examples"] + left["examples"])[:3]
    return {"nbgrader_exit": exit_code, "graded_files": len(graded.files), "graded_bytes": graded.size,
            "left_out": left_out}


def preload() -> None:
    """Import what every job needs (the job server does this once, before its first job)."""
    from autograder.grader.nbgrader_cli import find_own_scripts, skip_slow_imports

    skip_slow_imports()
    find_own_scripts()
    import nbgrader.apps.nbgraderapp  # noqa: F401 - nbgrader's apps, converters and preprocessors

    import autograder.grader.kernel  # noqa: F401 - jupyter_client, the sandboxed kernel manager
    import autograder.grader.pipeline  # noqa: F401 - the course's preprocessors and their imports


def run(spec: RunSpec) -> int:
    """The job in this process, which already stands on its bounded disk (see the module's docstring)."""
    started = time.time()
    limits = Limits.from_dict(spec.limits)
    os.umask(0o077)
    work = prepare(spec, limits)
    job_environment(work, spec.threads, limits, spec.sandbox, spec.seed)
    os.chdir(work)
    prepared = time.time()
    exit_code = run_autograde(spec)
    sys.stderr.flush()
    graded = time.time()
    # Where the job's time goes (seconds): its process start (the interpreter, bwrap), its folder, nbgrader.
    phases = {"job_start": round(started - spec.launched, 2) if spec.launched else 0.0,
              "job_prepare": round(prepared - started, 2), "nbgrader_autograde": round(graded - prepared, 2)}
    summary = export(spec, limits, work, exit_code)
    phases["job_export"] = round(time.time() - graded, 2)
    (Path(spec.outbox) / "job.json").write_text(json.dumps(summary | {"phases": phases}), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run(RunSpec.read(Path(args[0])))


if __name__ == "__main__":
    raise SystemExit(main())
