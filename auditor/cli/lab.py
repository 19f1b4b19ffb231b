"""`auditor lab ...`: serve the lab world in the foreground (python -m auditor.lab)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lab", help="serve the lab world in the foreground (for trying things by hand)")
    p.add_argument("lab_args", nargs=argparse.REMAINDER, help="options of python -m auditor.lab")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the lab's servers: only when the command runs
    from auditor.lab.__main__ import main as lab_main

    return int(lab_main(args.lab_args) or 0)
