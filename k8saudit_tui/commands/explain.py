"""Explain one event: every rule in order, each clause matched / failed (and why) / not applicable.

`k8saudit-tui explain --policy POLICY LOG --line N` prints the request as the policy saw it, one
block per rule tried up to the matching one, and the verdict. Exit 0; 1 when the line is missing or
not an Event; 2 when the policy cannot be used.

The log is read like every other reader reads one (`sources.expand_sources`: gzip by magic number,
stdin, a directory holding one log); line N is counted in the file as `evaluate` numbers it.
"""

from __future__ import annotations

import argparse

from k8saudit_tui.commands.common import bounded_lines, describe_os_error, error, load_policy_or_exit
from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import EventError, decode_event_line
from k8saudit_tui.engine.logs.sources import STDIN, expand_sources
from k8saudit_tui.engine.model import Verdict
from k8saudit_tui.engine.policy.explain import explain, format_explanation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="audit Policy file (YAML or JSON)")
    parser.add_argument("log", metavar="LOG", help="audit log file (or a directory of one); - for stdin; gzip is read")
    parser.add_argument("--line", type=int, required=True, help="1-based line number of the event")


def run(args: argparse.Namespace) -> int:
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    sources = expand_sources([args.log])
    for source in sources:
        if source.problem is not None:
            error(str(source.problem))
            return 1
    if len(sources) > 1:
        names = ", ".join(source.name for source in sources)
        error(f"{args.log} holds {len(sources)} logs ({names}): name the one that holds line {args.line}")
        return 1
    name = args.log if args.log == STDIN else sources[0].name
    try:
        line = _find_line(sources[0].path, args.line)
    except OSError as problem:
        error(f"{name}: {describe_os_error(problem)}")
        return 1
    if line is None:
        error(f"{name}: there is no line {args.line}")
        return 1
    try:
        event = decode_event_line(line)
    except EventError as problem:
        error(f"{name}:{args.line}: {problem}")
        return 1
    explanation = explain(evaluator.policy, request_attributes(event))
    print(format_explanation(explanation))
    print(_stage_note(explanation.verdict, event.stage))
    return 0


def _find_line(path: str, wanted: int) -> bytes | None:
    """Line `wanted` (1-based) of a plain file, without its end-of-line; None past the end."""
    with open(path, "rb") as stream:
        for number, line in enumerate(bounded_lines(stream), 1):
            if number == wanted:
                return line.rstrip(b"\r\n")
    return None


def _stage_note(verdict: Verdict, stage: str) -> str:
    if verdict.level == "None":
        return f"this {stage} event would not be written: level None"
    if stage in verdict.omit_stages:
        return f"this {stage} event would not be written: stage {stage} is omitted"
    return f"this {stage} event would be written at level {verdict.level}"
