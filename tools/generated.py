"""Shared by the tools that generate committed files: write them, or check they are fresh."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--output", type=Path, help="write here instead of stdout")
    target.add_argument("--check", type=Path, help="fail if this file is not a fresh render")


def write_or_check(text: str, args: argparse.Namespace, command: str) -> int:
    """Print ``text``, write it to ``--output``, or compare it with ``--check`` (exit 1)."""
    if args.check is not None:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
        if current != text:
            print(
                f"{args.check} is out of date; run: {command} --output {args.check}",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
