"""``python -m autograder``: the course's command-line interface."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

GENERATED = ("expected", "notebooks", "data", "figures")


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
    from autograder.course.build import build_course

    root = build_course(Path(args.dir), args.lang)
    print(f"course ready in {root}: release/ holds the notebooks to hand out; "
          f"put submissions in submitted/<student>/<lesson>/ and run: python -m autograder grade {args.dir}")
    return 0


def _print_table(root: Path, notes: dict[str, list[str]]) -> None:
    from autograder.course.report import collect

    rows, _ = collect(root)
    width = max([len(r.student) for r in rows] + [7])
    print(f"{'student':<{width}}  {'lesson':<18}  {'score':>11}  notes")
    for row in rows:
        note = "; ".join(notes.get(f"{row.student}/{row.lesson}", []))
        print(f"{row.student:<{width}}  {row.lesson:<18}  {row.score:>5g} / {row.max_score:<3g}  {note[:100]}")


def _grade(args: argparse.Namespace) -> int:
    from autograder.course.build import read_course
    from autograder.course.grade import grade
    from autograder.course.report import write_report

    root = Path(args.dir).resolve()
    notes = grade(root, jobs=args.jobs, memory_limit=args.memory_limit, progress=not args.quiet)
    report = write_report(root, notes, read_course(root)["language"])
    _print_table(root, notes)
    print(f"\ngrades: {root / 'grades.csv'}\nfeedback: {root / 'feedback'}\nreport: {report}")
    return 0


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
    course.set_defaults(run=_course)

    def grading_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
        command.add_argument("--memory-limit", type=_memory, default=_memory("6G"),
                             help="kill a learner's kernel above this resident memory (default 6G; 0: none)")

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
