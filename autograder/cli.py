"""``python -m autograder``: the course's command-line interface.

Every word it prints, help included, comes from the catalog's ``cli`` domain in the instructor's
language (``autograder.learner.i18n.cli_language``); each command is a small function that returns
an exit status and leaves the parsed arguments as they are.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.course import say
from autograder.grader.limits import DEFAULT, Limits

if TYPE_CHECKING:
    from autograder.course.cluster import RemoteCluster

GENERATED = ("expected", "figures", "notebooks", "data")  # figures first: notebooks embed them


def _generate(args: argparse.Namespace) -> int:
    targets = GENERATED if args.what == "all" else (args.what,)
    failed = False
    for target in targets:
        if target == "expected":
            from autograder.authoring import expected

            if args.check:
                problems = expected.stale()
                for line in problems:
                    print(say("stale", item=line), file=sys.stderr)
                failed |= bool(problems)
            else:
                for path in expected.write():
                    print(say("wrote", path=path))
        else:  # notebooks, data, figures: each generator module has its own main with --check
            generator = importlib.import_module(f"autograder.authoring.{target}")
            failed |= generator.main(["--check"] if args.check else []) != 0
    return 1 if failed else 0


def _solve(args: argparse.Namespace) -> int:
    from autograder.authoring.solve import solve_file

    try:
        out = solve_file(Path(args.notebook), Path(args.output))
    except (OSError, ValueError) as error:
        print(say("solve_failed", error=error), file=sys.stderr)
        return 2
    print(say("wrote", path=out))
    return 0


def _language(value: str) -> str:
    from autograder.learner.i18n import LANGUAGES

    if value not in LANGUAGES:
        raise argparse.ArgumentTypeError(say("unknown_language", value=value, choices=", ".join(LANGUAGES)))
    return value


def _memory(value: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    try:
        return int(float(value[:-1]) * units[value[-1].upper()]) if value[-1:].upper() in units else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(say("not_a_memory_size", value=value)) from None


def _course(args: argparse.Namespace) -> int:
    from autograder.course.create import build_course, read_course

    root = build_course(Path(args.dir), args.lang, course_id=args.course_id,
                        exchange=Path(args.exchange) if args.exchange else None, late_penalty=args.late_penalty,
                        group=args.group)
    course = read_course(root)
    print(say("course_ready", course_id=course["course_id"], root=root))
    print(say("course_release", penalty=course["late_penalty"]))
    if course["exchange"]:
        print(say("course_exchange", exchange=course["exchange"], root=root))
        print(say("course_students_config", path=root / "for_students" / "nbgrader_config.py"))
    else:
        print(say("course_submitted"))
    print(say("course_then", dir=args.dir))
    return 0


def decide_sandbox(args: argparse.Namespace) -> bool:
    """Whether learners' kernels will be sandboxed (and say so); CourseError when they must be and cannot be.

    ``demo``, whose students are the project's own, grades without a sandbox where there is none, with a warning.
    """
    from autograder.course import CourseError
    from autograder.grader.sandbox import SandboxUnavailable, check

    if args.no_sandbox:
        print(say("sandbox_none"), file=sys.stderr)
        return False
    if args.scheduler:  # each worker is asked before it gets work
        print(say("sandbox_workers"), file=sys.stderr)
        return True
    try:
        version = check()
    except SandboxUnavailable as error:
        if args.command == "demo":
            print(say("demo_unsandboxed", reason=error), file=sys.stderr)
            return False
        raise CourseError("sandbox_unavailable", reason=error) from None
    print(say("sandbox_local", version=version), file=sys.stderr)
    return True


def _limits(args: argparse.Namespace) -> Limits:
    """The defaults (autograder/grader/limits.py) with what the instructor set on the command line."""
    return DEFAULT.replace(memory=args.memory_limit, submission_time=args.time_limit, disk=args.disk_limit,
                           returned_files=args.max_files)


def _remote(args: argparse.Namespace) -> RemoteCluster | None:
    """The remote cluster named by --scheduler and its certificates; None for a local cluster."""
    from autograder.course import CourseError
    from autograder.course.cluster import RemoteCluster, check_scheduler_address

    if not args.scheduler:
        return None
    check_scheduler_address(args.scheduler)
    files = {"--tls-ca-file": args.tls_ca_file, "--tls-cert": args.tls_cert, "--tls-key": args.tls_key}
    missing = [flag for flag, path in files.items() if not path or not Path(path).is_file()]
    if missing:
        raise CourseError("tls_files_missing", address=args.scheduler, missing=", ".join(missing))
    return RemoteCluster(args.scheduler, args.tls_ca_file, args.tls_cert, args.tls_key)


def _upgrade_lines(root: Path, group: str | None = None) -> None:
    """Bring an older course up to this version (autograder.course.create.upgrade_course), saying what changed."""
    from autograder.course.create import upgrade_course

    for change in upgrade_course(root, group):
        print(say("upgraded", change=change), file=sys.stderr)


def _grade(args: argparse.Namespace, root: Path | None = None, sandbox: bool | None = None) -> int:
    from autograder.course.create import read_course
    from autograder.course.grade import grade
    from autograder.course.outputs import score_table, write_outputs

    root = (root or Path(args.dir)).resolve()
    course = read_course(root)  # a wrong folder is reported before anything else
    _upgrade_lines(root)
    sandboxed = decide_sandbox(args) if sandbox is None else sandbox
    batch = grade(root, jobs=args.jobs, limits=_limits(args), progress=not args.quiet, remote=_remote(args),
                  sandbox=sandboxed, show_dashboard=args.dashboard)
    outputs = write_outputs(root, course, sandboxed)
    print("\n".join(score_table(outputs.board, {str(key): notes for key, notes in batch.notes().items()})))
    print("\n" + say("outputs", grades=root / "grades.csv", feedback=root / "feedback", report=outputs.report,
                     lms=", ".join(str(path) for path in outputs.lms)))
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from autograder.course.create import read_course

    root = Path(args.dir).resolve()
    read_course(root)
    _upgrade_lines(root, args.group)
    print(say("up_to_date", root=root))
    return 0


def _certificates(args: argparse.Namespace) -> int:
    from autograder.course.certificates import make_certificates

    folder = Path(args.dir).resolve()
    paths = make_certificates(folder, days=args.days)
    print(say("certificates_written", names=", ".join(path.name for path in paths.values()), folder=folder))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from autograder.authoring.demo import prepare

    sandboxed = decide_sandbox(args)
    root = prepare(Path(args.out), args.lang)
    print(say("demo_course", root=root))
    return _grade(args, root=root, sandbox=sandboxed)


def _serve(args: argparse.Namespace) -> int:
    """Grade as students submit, until stopped (SIGTERM, Ctrl-C); the journal keeps whatever is unfinished."""
    import signal
    import threading

    from autograder.course import CourseError
    from autograder.course.create import read_course
    from autograder.course.grade import GradingSession
    from autograder.course.policy import policies
    from autograder.course.service import Service

    root = Path(args.dir).resolve()
    course = read_course(root)
    if not course["exchange"]:
        raise CourseError("service.no_exchange", root=root)
    policies(course)  # a wrong policy is reported before a cluster starts
    _upgrade_lines(root)
    sandboxed = decide_sandbox(args)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    with GradingSession.open(root, course, args.jobs, _limits(args), sandboxed, _remote(args),
                             args.dashboard) as session:
        print(say("service.started", course_id=course["course_id"]), file=sys.stderr, flush=True)
        Service(root, course, session, _limits(args)).run(stop, args.poll)
    return 0


def _status(args: argparse.Namespace) -> int:
    from autograder.course.create import read_course
    from autograder.course.service import status_lines

    root = Path(args.dir).resolve()
    print("\n".join(status_lines(root, read_course(root)["language"])))
    return 0


def _grading_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--jobs", type=int, default=1, help=say("help.jobs"))
    command.add_argument("--memory-limit", type=_memory, default=DEFAULT.memory, help=say("help.memory"))
    command.add_argument("--time-limit", type=int, default=DEFAULT.submission_time, metavar="SECONDS",
                         help=say("help.time", seconds=DEFAULT.submission_time))
    command.add_argument("--disk-limit", type=_memory, default=DEFAULT.disk, help=say("help.disk"))
    command.add_argument("--max-files", type=int, default=DEFAULT.returned_files,
                         help=say("help.files", files=DEFAULT.returned_files))
    command.add_argument("--scheduler", metavar="tls://HOST:PORT", help=say("help.scheduler"))
    command.add_argument("--tls-ca-file", help=say("help.tls_ca"))
    command.add_argument("--tls-cert", help=say("help.tls_cert"))
    command.add_argument("--tls-key", help=say("help.tls_key"))
    command.add_argument("--dashboard", action="store_true", help=say("help.dashboard"))
    command.add_argument("--no-sandbox", action="store_true", help=say("help.no_sandbox"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m autograder", description=say("description"))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help=say("help.generate"))
    generate.add_argument("what", choices=(*GENERATED, "all"))
    generate.add_argument("--check", action="store_true", help=say("help.generate.check"))
    generate.set_defaults(run=_generate)

    solve = commands.add_parser("solve", help=say("help.solve"))
    solve.add_argument("notebook", help=say("help.solve.notebook"))
    solve.add_argument("-o", "--output", required=True, help=say("help.solve.output"))
    solve.set_defaults(run=_solve)

    course = commands.add_parser("course", help=say("help.course"))
    course.add_argument("dir", help=say("help.course.dir"))
    course.add_argument("--lang", type=_language, required=True, help=say("help.course.lang"))
    course.add_argument("--course-id", help=say("help.course.id"))
    course.add_argument("--exchange", help=say("help.course.exchange"))
    course.add_argument("--late-penalty", choices=("none", "zero"), default="none", help=say("help.course.late"))
    course.add_argument("--group", help=say("help.course.group"))
    course.set_defaults(run=_course)

    upgrade = commands.add_parser("upgrade", help=say("help.upgrade"))
    upgrade.add_argument("dir", help=say("help.course_dir"))
    upgrade.add_argument("--group", help=say("help.course.group"))
    upgrade.set_defaults(run=_upgrade)

    certificates = commands.add_parser("certificates", help=say("help.certificates"))
    certificates.add_argument("dir", help=say("help.certificates.dir"))
    certificates.add_argument("--days", type=int, default=365, help=say("help.certificates.days"))
    certificates.set_defaults(run=_certificates)

    grade = commands.add_parser("grade", help=say("help.grade"))
    grade.add_argument("dir", help=say("help.course_dir"))
    _grading_options(grade)
    grade.add_argument("--quiet", action="store_true", help=say("help.quiet"))
    grade.set_defaults(run=_grade)

    serve = commands.add_parser("serve", help=say("help.serve"))
    serve.add_argument("dir", help=say("help.course_dir"))
    _grading_options(serve)
    serve.add_argument("--poll", type=float, default=2.0, help=say("help.serve.poll"))
    serve.set_defaults(run=_serve)

    status = commands.add_parser("status", help=say("help.status"))
    status.add_argument("dir", help=say("help.course_dir"))
    status.set_defaults(run=_status)

    demo = commands.add_parser("demo", help=say("help.demo"))
    demo.add_argument("--out", default="demo-course", help=say("help.demo.out"))
    demo.add_argument("--lang", type=_language, default="en", help=say("help.demo.lang"))
    _grading_options(demo)
    demo.set_defaults(run=_demo, quiet=False)
    return parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, not the usage block
        self.exit(2, f"{self.prog}: {say('error')}: {message}\n")


def main(argv: list[str] | None = None) -> int:
    from autograder.course import CourseError
    from autograder.course.gradebook import GradebookBusy

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(say("failed", command=args.command, error=error), file=sys.stderr)
        return 2
    except GradebookBusy:
        print(say("failed", command=args.command, error=say("gradebook_busy", root=getattr(args, "dir", ""))),
              file=sys.stderr)
        return 2
