"""Explain one event: every rule in order, each clause matched / failed (and why) / not applicable.

`k8saudit-tui explain --policy POLICY LOG --line N` prints the request as the policy saw it, one
block per rule tried up to the matching one, and the verdict. Exit 0; 1 when the line is missing or
not an Event; 2 when the policy cannot be used.

`--auditid ID` instead finds every stage event of that request, in every log LOG holds (a directory
of rotations: the stages of one request may straddle a rotation). The policy decides once per
request, so the request is explained once, then each stage event says whether it would be written
(omitStages is per stage). Events that share the ID but not the request (a reused ID) are explained
one request each. Exit 1 when no event has that ID.

An event of a format that lost fields the policy reads (a GKE entry: user groups and stage) is
explained with them unknown: a rule that needs them says "cannot evaluate: user groups are not
present in GKE logs", and the verdict and stage notes say what stays unknown (policy/lossy.py).

The log is read like every other reader reads one (`sources.expand_sources`: gzip by magic number,
stdin, a directory holding one log); line N is counted in the file as `evaluate` numbers it.
"""

from __future__ import annotations

import argparse

from k8saudit_tui.commands.common import bounded_lines, describe_os_error, error, load_policy_or_exit, log_problem
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import EventError, EventFields, decode_event_line
from k8saudit_tui.engine.logs.sources import STDIN, LogSource, expand_sources
from k8saudit_tui.engine.model import RequestAttributes, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.explain import Explanation, explain, format_explanation
from k8saudit_tui.engine.policy.lossy import STAGE
from k8saudit_tui.engine.policy.lost_reasons import lost_fields, reasons
from k8saudit_tui.engine.textsafe import visible


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="audit Policy file (YAML or JSON, or @gke|@eks|@aks)")
    parser.add_argument("log", metavar="LOG", help="audit log file (or a directory of one); - for stdin; gzip is read")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--line", type=int, help="1-based line number of the event")
    which.add_argument("--auditid", help="audit ID of the request: explain it, then each of its stage events")
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    unreadable = log_problem(args.log)
    if unreadable is not None:  # missing, unreadable, or a policy given as the log: worded as every command does
        error(unreadable[0])
        return unreadable[1]
    evaluator = load_policy_or_exit(args.policy)
    if evaluator is None:
        return 2
    sources = expand_sources([args.log], format=args.log_format)
    for source in sources:
        if source.problem is not None:
            error(str(source.problem))
            return 1
    if args.auditid is not None:
        return _explain_request(evaluator, sources, args.auditid)
    if len(sources) > 1:
        names = ", ".join(source.name for source in sources)
        error(f"{args.log} holds {len(sources)} logs ({names}): name the one that holds line {args.line}")
        return 1
    name = args.log if args.log == STDIN else sources[0].name
    spool_line = _spool_line(sources[0], args.line)
    try:
        line = _find_line(sources[0].path, spool_line)
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
    code = _format_code(sources[0], spool_line)
    explanation = explain(evaluator.policy, request_attributes(event), lost_fields(code), reasons(code))
    print(format_explanation(explanation))
    print(_stage_note(explanation, event.stage))
    return 0


def _explain_request(evaluator: PolicyEvaluator, sources: list[LogSource], audit_id: str) -> int:
    """Explain the request `audit_id` once per distinct request, then a line per stage event."""
    try:
        found = [hit for source in sources for hit in _find_audit_id(source, audit_id)]
    except OSError as problem:
        error(describe_os_error(problem))
        return 1
    if not found:
        names = ", ".join(source.name for source in sources)
        error(f"no event with auditID {audit_id} in {names}")
        return 1
    requests: dict[tuple[RequestAttributes, int], list[tuple[str, EventFields]]] = {}
    for where, event, code in found:
        requests.setdefault((request_attributes(event), code), []).append((where, event))
    stages = ", ".join(f"{where} {event.stage}" for where, event, _ in found)
    print(visible(f"auditID {audit_id}: {len(found)} event{'s' if len(found) > 1 else ''} ({stages})"))
    if len(requests) > 1:
        print(f"note: these events share the auditID but not the request: {len(requests)} requests, each explained")
    for (attributes, code), events in requests.items():
        explanation = explain(evaluator.policy, attributes, lost_fields(code), reasons(code))
        print(format_explanation(explanation))
        for where, event in events:
            print(visible(f"{where}: {_stage_note(explanation, event.stage)}"))
    return 0


def _find_audit_id(source: LogSource, audit_id: str) -> list[tuple[str, EventFields, int]]:
    """(`file:line`, event, its format code) of each event of `source` whose auditID is `audit_id`, in file order.

    Lines without the ID's bytes are not decoded (an ID JSON writes escaped is searched by decoding
    every line); a line that holds them but is not an Event is reported on stderr and skipped."""
    plain = audit_id.isascii() and audit_id.isprintable() and '"' not in audit_id and "\\" not in audit_id
    needle = audit_id.encode() if plain else b""
    found: list[tuple[str, EventFields, int]] = []
    with open(source.path, "rb") as stream:
        for number, line in enumerate(bounded_lines(stream), 1):
            if needle not in line:
                continue
            try:
                event = decode_event_line(line.rstrip(b"\r\n"))
            except EventError as problem:
                if plain:
                    error(f"{source.name}:{number}: {problem}")
                continue
            if event.auditID == audit_id:
                found.append((f"{source.name}:{_original_line(source, number)}", event, _format_code(source, number)))
    return found


def _spool_line(source: LogSource, line: int) -> int:
    """The line of `source.path` that holds the (first) event of the original file's `line`: the
    same line for Event lines; for a spool of unwrapped events, through its origin (0: none)."""
    if source.origin is None:
        return line
    found = (source.origin.lines == line).nonzero()[0]
    for problem in source.problems:
        if problem.line == line and not len(found):
            error(str(problem))
    return int(found[0]) + 1 if len(found) else 0


def _original_line(source: LogSource, spool_line: int) -> int:
    """The original file's line of a line of `source.path` (itself for Event lines)."""
    if source.origin is None:
        return spool_line
    from k8saudit_tui.engine.logs.formats.reader import original_line

    return original_line(source.origin, spool_line)


def _find_line(path: str, wanted: int) -> bytes | None:
    """Line `wanted` (1-based) of a plain file, without its end-of-line; None past the end."""
    with open(path, "rb") as stream:
        for number, line in enumerate(bounded_lines(stream), 1):
            if number == wanted:
                return line.rstrip(b"\r\n")
    return None


def _format_code(source: LogSource, spool_line: int) -> int:
    """The format code of line `spool_line` of `source.path` (0, raw, for Event lines)."""
    if source.origin is None or not 0 < spool_line <= len(source.origin.formats):
        return 0
    return int(source.origin.formats[spool_line - 1])


def _stage_note(explanation: Explanation, stage: str) -> str:
    got = explanation.outcome
    written = True if got is None else got.written(stage)
    if got is not None and written is None:
        because = []
        if len({frozenset(v.emits(s) for s in got.stages or (stage,)) for v in got.verdicts}) > 1:
            because.append("the rule that decides it is unknown")
        if any(len({v.emits(s) for s in got.stages}) > 1 for v in got.verdicts):
            why = (explanation.reasons or {}).get(STAGE, "the stage is not present in this format")
            because.append(f"cannot evaluate: {why}")
        return f"whether this {stage} event would be written is unknown: {'; '.join(because)}"
    verdict = explanation.verdict if got is None or got.known else got.verdicts[0]
    if got is not None and got.stages and not got.known:
        return f"this event would {'' if written else 'not '}be written whichever rule and stage it had"
    if got is not None and got.stages:
        stage = " or ".join(got.stages)
    return _verdict_note(verdict, stage)


def _verdict_note(verdict: Verdict, stage: str) -> str:
    if verdict.level == "None":
        return f"this {stage} event would not be written: level None"
    if stage in verdict.omit_stages:
        return f"this {stage} event would not be written: stage {stage} is omitted"
    return f"this {stage} event would be written at level {verdict.level}"
