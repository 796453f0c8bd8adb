"""`--format NAME` (alias `--log-format`): the one definition of the option every log-reading
command and the TUI take to force the input format.

Why one place: the names are those of the engine's FORMATS table, and an unknown name must be the
same usage error everywhere (exit 2, listing the names), before any file is read.
"""

from __future__ import annotations

import argparse

from k8saudit_tui.engine.logs.formats import BY_NAME, FORMATS

HELP = (
    "read the logs as this format instead of recognising each record (raw: audit Event lines, as "
    "the apiserver writes them); one of: " + ", ".join(info.name for info in FORMATS)
)


def format_name(value: str) -> str:
    """argparse type: a name of FORMATS, else a usage error naming them all."""
    if value in BY_NAME:
        return value
    names = ", ".join(info.name for info in FORMATS)
    raise argparse.ArgumentTypeError(f"unknown format {value!r}: the formats are {names}")


def add_format_option(parser: argparse.ArgumentParser, output_format: bool = False) -> None:
    """Add `--format NAME` and its alias `--log-format NAME` (`args.log_format`; default None:
    recognise every record). Commands whose `--format` names their output (`report`, `export`)
    take `output_format=True` and get `--log-format` alone."""
    names = ("--log-format",) if output_format else ("--format", "--log-format")
    parser.add_argument(*names, dest="log_format", type=format_name, metavar="NAME", default=None, help=HELP)
