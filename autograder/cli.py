"""``python -m autograder``: the course's command-line interface."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.grader.limits import DEFAULT, Limits

if TYPE_CHECKING:
    from autograder.course.cluster import RemoteCluster

GENERATED = ("expected", "figures", "notebooks", "data")  # figures first: notebooks embed them


def _generate(args: argparse.Namespace) -> int:
    targets = GENERATED if args.what == "all" else (args.what,)
    failed = False
    for target in targets:
        if target == "expected":
            from autograder.build import expected

            if args.check:
                problems = expected.stale()
                for line in problems:
                    print(f"stale: {line}", file=sys.stderr)
                failed |= bool(problems)
            else:
                for path in expected.write():
                    print(f"wrote {path}")
        else:  # notebooks, data, figures: each generator module has its own main with --check
            generator = importlib.import_module(f"autograder.build.{target}")
            failed |= generator.main(["--check"] if args.check else []) != 0
    return 1 if failed else 0


def _solve(args: argparse.Namespace) -> int:
    from autograder.build.solve import solve_file

    try:
        out = solve_file(Path(args.notebook), Path(args.output))
    except (OSError, ValueError) as error:
        print(f"autograder solve: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def _language(value: str) -> str:
    from autograder.course import LANGS

    if value not in LANGS:
        raise argparse.ArgumentTypeError(f"unknown language {value!r}: choose one of {', '.join(LANGS)}")
    return value


def _memory(value: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    try:
        return int(float(value[:-1]) * units[value[-1].upper()]) if value[-1:].upper() in units else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a memory size: {value!r} (examples: 4G, 512M)") from None


def _course(args: argparse.Namespace) -> int:
    from autograder.course.build import build_course, read_course

    root = build_course(Path(args.dir), args.lang, course_id=args.course_id,
                        exchange=Path(args.exchange) if args.exchange else None, late_penalty=args.late_penalty,
                        group=args.group)
    course = read_course(root)
    print(f"course {course['course_id']!r} ready in {root}")
    print(f"  release/ holds the notebooks to hand out; late submissions: penalty {course['late_penalty']!r}")
    if course["exchange"]:
        print(f"  exchange: {course['exchange']} — in {root}: nbgrader release_assignment LESSON, "
              "later nbgrader collect LESSON")
        print(f"  students' config: {root / 'for_students' / 'nbgrader_config.py'} "
              "(into their ~/.jupyter/ or the hub's /etc/jupyter/)")
    else:
        print("  put submissions in submitted/<student>/<lesson>/ (nbgrader collect does this)")
    print(f"  then: python -m autograder grade {args.dir}")
    return 0


def _print_table(root: Path, notes: dict[str, list[str]]) -> None:
    """The final scores (as grades.csv has them: raw minus late penalty), ``score / max`` first."""
    from autograder.course.report import collect, score_text
    from autograder.grader.sanitize import terminal_safe

    rows, _ = collect(root)
    students = {id(row): terminal_safe(row.student, one_line=True) for row in rows}  # learner text: no escapes
    width = max([len(name) for name in students.values()] + [7])
    scores = {id(row): score_text(row) for row in rows}
    score_width = max([len(text) for text in scores.values()] + [11])
    print(f"{'student':<{width}}  {'lesson':<18}  {'score':<{score_width}}  notes")
    for row in rows:
        note = terminal_safe("; ".join(notes.get(f"{row.student}/{row.lesson}", [])), one_line=True)
        print(f"{students[id(row)]:<{width}}  {row.lesson:<18}  {scores[id(row)]:<{score_width}}  {note[:100]}")


def _grade(args: argparse.Namespace) -> int:
    from autograder.course.build import read_course
    from autograder.course.grade import grade
    from autograder.course.lms import write_lms_exports
    from autograder.course.report import write_report

    root = Path(args.dir).resolve()
    read_course(root)  # a wrong folder is reported before anything else
    _upgrade_lines(root)
    sandboxed = _sandbox_line(args)
    notes = grade(root, jobs=args.jobs, limits=_limits(args), progress=not args.quiet, remote=_remote(args),
                  sandbox=sandboxed, show_dashboard=args.dashboard)
    report = write_report(root, notes, read_course(root)["language"])
    lms = write_lms_exports(root)
    _print_table(root, notes)
    print(f"\ngrades: {root / 'grades.csv'}\nfeedback: {root / 'feedback'}\nreport: {report}")
    print("for the LMS: " + ", ".join(str(path) for path in lms))
    return 0


def _upgrade_lines(root: Path, group: str | None = None) -> None:
    """Bring an older course up to this version (autograder.course.build.upgrade_course), saying what changed."""
    from autograder.course.build import upgrade_course

    for change in upgrade_course(root, group):
        print(f"upgraded: {change}", file=sys.stderr)


def _upgrade(args: argparse.Namespace) -> int:
    root = Path(args.dir).resolve()
    from autograder.course.build import read_course

    read_course(root)
    _upgrade_lines(root, args.group)
    print(f"{root} is up to date")
    return 0


def _certificates(args: argparse.Namespace) -> int:
    from autograder.course.certificates import make_certificates

    folder = Path(args.dir).resolve()
    paths = make_certificates(folder, days=args.days)
    print(f"wrote {', '.join(path.name for path in paths.values())} in {folder}")
    print("  every scheduler, worker and grader: --tls-ca-file ca.pem --tls-cert cluster.pem --tls-key cluster-key.pem"
          "\n  (cluster-key.pem is secret: copy it only to the accounts that run them; ca-key.pem stays here)")
    return 0


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
        raise CourseError(f"--scheduler {args.scheduler} needs this grader's TLS files: {', '.join(missing)} "
                          "(README: Grading on a cluster)")
    return RemoteCluster(args.scheduler, args.tls_ca_file, args.tls_cert, args.tls_key)


def _limits(args: argparse.Namespace) -> Limits:
    """The defaults (autograder/grader/limits.py) with what the instructor set on the command line."""
    return DEFAULT.replace(memory=args.memory_limit, submission_time=args.time_limit, disk=args.disk_limit,
                           returned_files=args.max_files)


def _sandbox_line(args: argparse.Namespace) -> bool:
    """Say whether learners' kernels will be sandboxed; stop (grade) or warn (demo) when they cannot be."""
    from autograder.course import CourseError
    from autograder.course.sandbox import SandboxUnavailable, check

    if args.no_sandbox:
        print("sandbox: NONE (--no-sandbox): learners' code runs with your rights and sees your files",
              file=sys.stderr)
        return False
    if args.scheduler:  # each worker is asked before it gets work
        print("sandbox: bubblewrap, on every Dask worker", file=sys.stderr)
        return True
    try:
        version = check()
    except SandboxUnavailable as error:
        if args.command == "demo":  # the demo's students are the project's own
            print(f"warning: grading the demo WITHOUT a sandbox — {error}", file=sys.stderr)
            args.no_sandbox = True
            return False
        raise CourseError(str(error)) from None
    print(f"sandbox: {version} — each kernel sees only its own folder, no network, no other process",
          file=sys.stderr)
    return True


def _demo(args: argparse.Namespace) -> int:
    from autograder.course.demo import prepare

    root = prepare(Path(args.out), args.lang)
    print(f"demo course in {root}; grading three sample students…")
    args.dir, args.quiet = str(root), False
    return _grade(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help="rebuild generated files (or check that they are current)")
    generate.add_argument("what", choices=(*GENERATED, "all"))
    generate.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    generate.set_defaults(run=_generate)

    solve = commands.add_parser("solve", help="write the solved version of a student notebook")
    solve.add_argument("notebook", help="a student notebook (notebooks/<lang>/<lesson>.ipynb)")
    solve.add_argument("-o", "--output", required=True, help="where to write the solved notebook")
    solve.set_defaults(run=_solve)
    course = commands.add_parser("course", help="build an nbgrader course (source, release, gradebook) in DIR")
    course.add_argument("dir", help="a new or empty folder")
    course.add_argument("--lang", type=_language, required=True, help="language of the course: en or ru")
    course.add_argument("--course-id", help="nbgrader's course id (default: DIR's name and a short hash of its path)")
    course.add_argument("--exchange", help="nbgrader's exchange folder, shared with the students (may exist and "
                        "hold other courses; default: nbgrader's own)")
    course.add_argument("--late-penalty", choices=("none", "zero"), default="none",
                        help="score of a submission after the due date: none (kept) or zero (default none)")
    course.add_argument("--group", help="a group (teaching assistants) that may read the course besides you")
    course.set_defaults(run=_course)

    upgrade = commands.add_parser("upgrade", help="bring a course built by an older version up to this one")
    upgrade.add_argument("dir", help="a course built by `python -m autograder course`")
    upgrade.add_argument("--group", help="a group (teaching assistants) that may read the course besides you")
    upgrade.set_defaults(run=_upgrade)

    certificates = commands.add_parser("certificates", help="TLS files for grading on a Dask cluster of machines")
    certificates.add_argument("dir", help="a new folder for the certificates and keys")
    certificates.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    certificates.set_defaults(run=_certificates)

    def grading_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--jobs", type=int, default=1, help="local Dask workers grading in parallel (default 1)")
        command.add_argument("--memory-limit", type=_memory, default=DEFAULT.memory,
                             help="kill a learner's kernel above this memory (default 6G; 0: none)")
        command.add_argument("--time-limit", type=int, default=DEFAULT.submission_time, metavar="SECONDS",
                             help="stop a submission's kernel after this long; its points so far are kept "
                             f"(default {DEFAULT.submission_time})")
        command.add_argument("--disk-limit", type=_memory, default=DEFAULT.disk,
                             help="bytes one submission's grading may write (default 1G; memory-backed)")
        command.add_argument("--max-files", type=int, default=DEFAULT.returned_files,
                             help="files kept of what a submission's code writes (default "
                             f"{DEFAULT.returned_files:,})")
        command.add_argument("--scheduler", metavar="tls://HOST:PORT",
                             help="grade on an existing Dask cluster (TLS) instead of --jobs local workers")
        command.add_argument("--tls-ca-file", help="with --scheduler: the cluster's certificate authority")
        command.add_argument("--tls-cert", help="with --scheduler: this grader's certificate")
        command.add_argument("--tls-key", help="with --scheduler: this grader's private key")
        command.add_argument("--dashboard", action="store_true",
                             help="serve Dask's dashboard (needs bokeh; every user of this machine can open it)")
        command.add_argument("--no-sandbox", action="store_true",
                             help="run learners' kernels without the bubblewrap sandbox (trusted code only)")

    grade = commands.add_parser("grade", help="autograde DIR/submitted, then feedback, grades.csv and a report")
    grade.add_argument("dir", help="a course built by `python -m autograder course`")
    grading_options(grade)
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.set_defaults(run=_grade)

    demo = commands.add_parser("demo", help="build a course, add three sample students, grade them")
    demo.add_argument("--out", default="demo-course", help="folder of the demo course (default ./demo-course)")
    demo.add_argument("--lang", type=_language, default="en", help="language of the demo course (default en)")
    grading_options(demo)
    demo.set_defaults(run=_demo)
    return parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, not the usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    from autograder.course import CourseError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"python -m autograder {args.command}: {error}", file=sys.stderr)
        return 2
