"""Command-line entry point: headless subcommands, or the TUI when no subcommand is given.

Subcommands import only the engine: scripts pay no Textual start-up cost.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

SUBCOMMANDS: dict[str, str] = {
    "validate": "k8saudit_tui.commands.validate",
    "evaluate": "k8saudit_tui.commands.evaluate",
    "explain": "k8saudit_tui.commands.explain",
    "export": "k8saudit_tui.commands.export",
    "top": "k8saudit_tui.commands.top",
}
"""Each module defines `add_arguments(parser)` and `run(args) -> int`."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand or the TUI; return the exit status (130 on ctrl+c, as shells expect)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            return _run_subcommand(args[0], args[1:])
        from k8saudit_tui.ui.launch import run_tui

        return run_tui(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_broken_pipe()
        return 0


def _run_subcommand(name: str, args: list[str]) -> int:
    module = import_module(SUBCOMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"k8saudit-tui {name}", description=module.__doc__)
    add_arguments: Callable[[argparse.ArgumentParser], None] = module.add_arguments
    add_arguments(parser)
    parsed = parser.parse_args(args)
    result: int = module.run(parsed)
    sys.stdout.flush()
    return result


def _silence_broken_pipe() -> None:
    """`evaluate ... | head`: the reader left; point stdout at /dev/null so the exit flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
