"""`k8saudit-tui [--policy POLICY] [--candidate CANDIDATE] [LOG...] [--filter TEXT] [--follow]`: parse, open, run.

With no arguments the bundled demo (the Kubernetes docs policy and a generated log) opens. Bad
arguments or unreadable files give a one-line message and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from k8saudit_tui.commands import cache_options
from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.model import Problem
from k8saudit_tui.engine.policy.presets import resolve
from k8saudit_tui.engine.textsafe import visible

if TYPE_CHECKING:
    from k8saudit_tui.ui.app import ExplorerApp
    from k8saudit_tui.ui.session import Session

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_POLICY = DATA / "demo-policy.yaml"
DEMO_LOG = DATA / "demo-audit.log"


def parser() -> argparse.ArgumentParser:
    """The TUI's command line; its description names every headless subcommand (from cli's table)."""
    from k8saudit_tui.cli import SUBCOMMANDS

    result = argparse.ArgumentParser(
        prog="k8saudit-tui",
        description="Explore Kubernetes audit logs against an audit policy. "
        f"Subcommands ({', '.join(SUBCOMMANDS)}) run headless: k8saudit-tui COMMAND --help.",
    )
    result.add_argument(
        "--policy", metavar="POLICY", help="audit Policy YAML file, or a provider baseline preset: @gke, @eks, @aks"
    )
    result.add_argument(
        "--candidate",
        metavar="CANDIDATE",
        help="a second audit Policy (or preset) to compare with POLICY: filters candidate:LEVEL and change:dropped,...",
    )
    result.add_argument("logs", nargs="*", metavar="LOG", help="audit log files, directories, .gz, or - for stdin")
    result.add_argument("--filter", metavar="TEXT", default="", help="start with this filter")
    result.add_argument("--follow", action="store_true", help="keep reading events appended to the logs")
    from k8saudit_tui.commands.format_option import add_format_option

    add_format_option(result)
    cache_options.add_arguments(result)
    return result


def demo_paths() -> tuple[str | None, list[str]]:
    """The bundled demo policy and log, where present."""
    policy = str(DEMO_POLICY) if DEMO_POLICY.is_file() else None
    logs = [str(DEMO_LOG)] if DEMO_LOG.is_file() else []
    return policy, logs


def run_tui(args: list[str]) -> int:
    """Parse `args`, open the files, run the app; the exit status."""
    try:
        parsed = parser().parse_args(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    policy, logs = parsed.policy, list(parsed.logs)
    if policy is None and not logs:
        policy, logs = demo_paths()
        if policy is None and not logs:
            print("k8saudit-tui: the bundled demo is missing; give --policy POLICY and/or LOG files", file=sys.stderr)
            return 2
    for path in (policy, parsed.candidate):
        target = resolve(path) if path is not None else None
        if isinstance(target, Problem):
            print(f"k8saudit-tui: {visible(str(target))}", file=sys.stderr)
            return 2
        if target is not None and not target.is_file():
            print(f"k8saudit-tui: {path!r}: no such policy file", file=sys.stderr)
            return 2
    if parsed.candidate is not None and policy is None:
        print("k8saudit-tui: --candidate compares with a policy: give --policy POLICY too", file=sys.stderr)
        return 2
    if "-" in logs and sys.stdin.isatty():
        print("k8saudit-tui: '-' reads a log from stdin, but stdin is a terminal", file=sys.stderr)
        return 2
    app_class, open_session = explorer_imports()
    # spools stdin (`-`) to a private file, to its end
    session = open_session(policy, logs, parsed.candidate, parsed.log_format)
    session.cache = cache_options.store_cache(parsed)
    if session.candidate_load is not None and session.candidate_load.policy is None:
        first = next(iter(session.candidate_load.problems), None)
        reason = str(first) if first is not None else "not a policy"
        print(f"k8saudit-tui: {parsed.candidate}: cannot use as the candidate: {visible(reason)}", file=sys.stderr)
        return 2
    if "-" in logs and not attach_terminal_input():
        print(
            "k8saudit-tui: the log came on stdin and there is no terminal (/dev/tty) to read keys from", file=sys.stderr
        )
        return 2
    app = app_class(session, filter_text=parsed.filter, follow=parsed.follow)
    result = app.run()
    return int(result or 0)


def explorer_imports() -> tuple[type[ExplorerApp], Callable[..., Session]]:
    """The explorer's app and session, imported as the start's imports are (`runtime.importing`):
    Textual and the screens are most of the explorer's start, and its reopen of a log."""
    with runtime.importing():
        from k8saudit_tui.ui.app import ExplorerApp
        from k8saudit_tui.ui.session import open_session
    return ExplorerApp, open_session


def attach_terminal_input() -> bool:
    """Read keys from the terminal once stdin (the piped log) has been spooled, as `less` does.

    Textual reads keys from file descriptor 0; with `kubectl logs … | k8saudit-tui -` that is
    the exhausted pipe, so the controlling terminal is put in its place. False when the process
    has no terminal."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    try:
        os.dup2(terminal, 0)
    finally:
        os.close(terminal)
    return True
