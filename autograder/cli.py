"""``python -m autograder``: the course's command-line interface."""

from __future__ import annotations

import argparse
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
        elif target == "notebooks":
            from autograder.build import notebooks

            failed |= notebooks.main(["--check"] if args.check else []) != 0
        elif target == "data":
            from autograder.build import data

            failed |= data.main(["--check"] if args.check else []) != 0
        elif target == "figures":
            from autograder.build import figures

            failed |= figures.main(["--check"] if args.check else []) != 0
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="rebuild generated files (or check that they are current)")
    generate.add_argument("what", choices=(*GENERATED, "all"))
    generate.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    generate.set_defaults(run=_generate)

    solve = commands.add_parser("solve", help="write the solved version of a student notebook")
    solve.add_argument("notebook", help="a student notebook (notebooks/<lang>/<lesson>.ipynb)")
    solve.add_argument("-o", "--output", required=True, help="where to write the solved notebook")
    solve.set_defaults(run=_solve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
