"""Command-line entry point: headless subcommands, or the TUI when no subcommand is given.

Subcommands import only the engine: scripts pay no Textual start-up cost.

A mistaken command line must say what went wrong, never open the explorer on nothing: a word that
is neither a command nor a file, a policy given where a log belongs, a missing log, or no terminal
to draw on are each one line on stderr, checked before Textual is imported. Exit statuses, the
same for the explorer and the subcommands:

    0    done
    1    an input (log) cannot be read
    2    the command line is wrong: unknown command, bad option, policy given as a log, a policy that
         cannot be used, a filter that needs --policy, or no terminal for the explorer
    130  interrupted (ctrl+c)
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib import import_module

SUBCOMMANDS: dict[str, str] = {
    "validate": "k8saudit_tui.commands.validate",
    "evaluate": "k8saudit_tui.commands.evaluate",
    "explain": "k8saudit_tui.commands.explain",
    "export": "k8saudit_tui.commands.export",
    "top": "k8saudit_tui.commands.top",
    "apply": "k8saudit_tui.commands.apply",
    "report": "k8saudit_tui.commands.report",
    "presets": "k8saudit_tui.commands.presets",
    "fleet": "k8saudit_tui.fleet.command",
}
"""Each module defines `add_arguments(parser)` and `run(args) -> int`."""

USAGE = 2
"""The exit status of a wrong command line (see the table above)."""

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
"""What a mistyped subcommand looks like: no dot, no slash, so never a log's usual name."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand or the TUI; return the exit status (130 on ctrl+c, as shells expect)."""
    args = list(sys.argv[1:] if argv is None else argv)
    _remove_spools_when_killed()
    try:
        if args and args[0] in SUBCOMMANDS:
            return _run_subcommand(args[0], args[1:])
        if "--version" in args:
            print(f"k8saudit-tui {version()}")
            return 0
        mistake = not_a_command(args[0]) if args else None
        if mistake is not None:
            return refuse(mistake, USAGE)
        return _run_tui(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_broken_pipe()
        return 0


def version() -> str:
    """The installed distribution's version; the package's own when it is not installed."""
    from importlib import metadata  # imported here: 25 ms of every command's start, for --version

    try:
        return metadata.version("k8saudit-tui")
    except metadata.PackageNotFoundError:
        from k8saudit_tui import __version__

        return __version__


def refuse(message: str, status: int) -> int:
    """Print `k8saudit-tui: message` to stderr (data made visible) and return `status`."""
    from k8saudit_tui.commands.common import error

    error(message)
    return status


def not_a_command(first: str) -> str | None:
    """Why `first` is a mistyped command: a word that names no command and no file; else None."""
    if not _WORD.fullmatch(first) or os.path.lexists(first):
        return None
    close = difflib.get_close_matches(first, list(SUBCOMMANDS), n=1)
    if close:
        return f"'{first}' is not a command; did you mean '{close[0]}'?"
    return f"'{first}' is neither a command ({', '.join(SUBCOMMANDS)}) nor a file"


EARLY_WORKERS: dict[str, str] = {
    "export": "k8saudit_tui.engine.streaming.narrow_job",
    "top": "k8saudit_tui.engine.streaming.narrow_top",
}
"""Commands whose worker pool does every range (no range is read here while it boots), and the
module of their job: on a log big enough for the pool, the workers start before the command's
own imports (`worker.start_early`). They preload the narrow path's lean job (a plain exact filter
needs no more: `narrow_job`, `narrow_top`); another filter's job imports the rest when it arrives."""


def _run_subcommand(name: str, args: list[str]) -> int:
    if name in EARLY_WORKERS and _input_bytes(args) > _POOL_BYTES:
        from k8saudit_tui.engine.logs.worker import start_early

        start_early(EARLY_WORKERS[name])
    from k8saudit_tui.engine import runtime

    with runtime.importing():
        module = import_module(SUBCOMMANDS[name])
    parser = argparse.ArgumentParser(
        prog=f"k8saudit-tui {name}", description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments: Callable[[argparse.ArgumentParser], None] = module.add_arguments
    add_arguments(parser)
    parsed = parser.parse_args(args)
    result: int = module.run(parsed)
    sys.stdout.flush()
    return result


def _remove_spools_when_killed() -> None:
    """On SIGTERM or SIGHUP (a closed ssh session), remove the spools, then die of the signal as
    before; a signal someone chose to ignore (nohup) stays ignored, and only the main thread can
    set a handler (a test may call `main` from another)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, _spools_removed)


def _spools_removed(number: int, frame: object) -> None:
    sources = sys.modules.get("k8saudit_tui.engine.logs.sources")  # not imported: no spool made
    if sources is not None:
        sources.remove_spools()
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)


_POOL_BYTES = 24 << 20
"""split.IN_PROCESS_BYTES, without importing the engine to read it (a test keeps them equal)."""


def _input_bytes(args: list[str]) -> int:
    """Bytes of the plain files among `args`: a guess of the logs' size made before any import (a
    policy or an existing output file adds a little; a directory or stdin adds nothing)."""
    total = 0
    for arg in args:
        try:
            if os.path.isfile(arg):
                total += os.path.getsize(arg)
        except (OSError, ValueError):
            continue
    return total


def _run_tui(args: list[str]) -> int:
    """Check the arguments and the terminal before Textual starts: it would draw on a pipe, or
    spin reading keys from an exhausted stdin."""
    from k8saudit_tui.commands.common import log_problem, policy_file_problem
    from k8saudit_tui.ui import launch

    try:
        parsed = launch.parser().parse_args(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    for policy in (parsed.policy, parsed.candidate):
        unusable = policy_file_problem(policy) if policy is not None else None
        if unusable is not None:
            return refuse(unusable, USAGE)
    for path in parsed.logs:
        found = log_problem(path)
        if found is not None:
            return refuse(*found)
    stdin_is_log = "-" in parsed.logs
    if not (_is_terminal(1) and _is_terminal(2)):  # Textual draws on stderr: both must be the terminal
        return refuse("the explorer needs a terminal: stdout or stderr is not one (scripts: use a subcommand)", USAGE)
    if not _is_terminal(0) and not stdin_is_log and not launch.attach_terminal_input():
        return refuse(
            "the explorer needs a terminal to read keys: stdin is not one and /dev/tty cannot be opened", USAGE
        )
    if stdin_is_log and not _is_terminal(0) and not _terminal_opens():
        return refuse("the log comes on stdin and there is no terminal (/dev/tty) to read keys from", USAGE)
    return launch.run_tui(args)


def _is_terminal(descriptor: int) -> bool:
    try:
        return os.isatty(descriptor)
    except OSError:
        return False


def _terminal_opens() -> bool:
    """Whether the controlling terminal can be opened (checked before stdin is spooled, which
    can take long; run_tui attaches it after)."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def _silence_broken_pipe() -> None:
    """`evaluate ... | head`: the reader left; point stdout at /dev/null so the exit flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
