"""Export the events of audit logs that match a filter: JSON lines (original bytes), CSV, JSON or Parquet.

Logs are files, directories of (rotated, .gz) logs, or - for stdin; several are merged by
stageTimestamp. jsonl, json and csv stream (engine.streaming: each range parsed and filtered in the
worker pool, memory bounded whatever the log's size); Parquet, and logs unwrapped from a cloud or
shipper format (numbered by their original records), load the store (and its index cache), an
envelope unwrapped and parsed in one pass as the explorer loads it (`store.unwrap_for_store`). --filter uses the
TUI's filter language; --policy lets it use level: and rule:, and
--candidate (with --policy) candidate: and change:.
Files are written atomically with mode 0600, never over an existing file without --force.
Exit 0 on success; 1 when a log cannot be read (nothing is written: a partial export would pass
for a whole one) or the output cannot be written; 2 for a bad filter or policy, a filter on a field
that needs a policy (level:, rule:) without --policy, --candidate without --policy, a policy given
as a log, or Parquet without pyarrow (the message names the install command; checked before any
log is read).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from k8saudit_tui.commands import cache_options
from k8saudit_tui.commands.common import error, load_policy_or_exit, log_problem
from k8saudit_tui.commands.format_option import add_format_option
from k8saudit_tui.engine.export_formats import FORMATS, ORIGINAL_LINE_FORMATS, STREAMED_FORMATS, Format
from k8saudit_tui.engine.fields import by_filter_name
from k8saudit_tui.engine.logs.sources import LogSource, decompressed, holds_event_lines, resolve_sources
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.streaming.exact_text import parse_exact
from k8saudit_tui.engine.textsafe import visible

if TYPE_CHECKING:  # imported when used: a plain exact filter streams without the query and store packages
    from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
    from k8saudit_tui.engine.query import Filter

_PROBLEMS_SHOWN = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="audit log file, directory, or - for stdin")
    parser.add_argument(
        "--policy", help="audit Policy (YAML or JSON, or @gke|@eks|@aks) for level: and rule: filters and columns"
    )
    parser.add_argument(
        "--candidate",
        help="a candidate Policy compared with --policy (candidate: and change: filters, Parquet candidate columns)",
    )
    parser.add_argument("--filter", default="", help="filter text, as in the TUI filter bar")
    parser.add_argument("--format", choices=FORMATS, help="output format (default: from -o's extension, else jsonl)")
    parser.add_argument("-o", "--output", required=True, help="output file, or - for stdout")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument(
        "--redact",
        action="store_true",
        help="mask Secret data, TokenRequest/TokenReview tokens and Authorization headers in bodies",
    )
    add_format_option(parser, output_format=True)
    cache_options.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    fmt: Format = args.format or _format_from_name(args.output)
    selection: Filter | str = args.filter  # a plain exact filter is read by the streamed export
    if fmt not in ORIGINAL_LINE_FORMATS or parse_exact(args.filter) is None:
        from k8saudit_tui.engine.query import FilterError, compile_filter

        try:
            selection = compile_filter(args.filter)
        except FilterError as problem:
            error(f"--filter: {problem.message}: {problem.term!r} at column {problem.position + 1}")
            return 2
    needing = _fields_needing_policy(selection) if not isinstance(selection, str) else []  # exact: none
    if needing and not args.policy:
        names = " and ".join(f"{name}:" for name in needing)
        error(f"--filter: a filter on {names} needs --policy (an event's level and rule come from evaluating one)")
        return 2
    if args.candidate and not args.policy:
        error("--candidate needs --policy (the candidate is compared with it)")
        return 2
    if fmt == "parquet" or fmt not in FORMATS:  # what check_format refuses (pyarrow missing, a typo)
        from k8saudit_tui.engine.export import check_format

        try:
            check_format(fmt)
        except ExportError as problem:
            error(str(problem))
            return 2
    for log in args.logs:
        found = log_problem(log)
        if found is not None:
            message, status = found
            error(message)
            return status
    evaluator: PolicyEvaluator | None = None
    candidate: PolicyEvaluator | None = None
    if args.policy:
        evaluator = load_policy_or_exit(args.policy)
        if evaluator is None:
            return 2
    if args.candidate:
        candidate = load_policy_or_exit(args.candidate)
        if candidate is None:
            return 2
    sources = decompressed(resolve_sources(args.logs))
    plain = all(source.problem is not None or holds_event_lines(source, args.log_format) for source in sources)
    if fmt in STREAMED_FORMATS and plain:  # nothing to unwrap: the store is not even imported
        return _streamed(args, sources, selection, fmt, evaluator, candidate)
    from k8saudit_tui.engine.export import export_rows
    from k8saudit_tui.engine.query import compile_filter
    from k8saudit_tui.engine.store import StoreLoader, unwrap_for_store

    cache = cache_options.store_cache(args)
    sources = unwrap_for_store(sources, args.log_format, cache)  # an envelope: unwrapped as it loads
    selection = compile_filter(selection) if isinstance(selection, str) else selection
    store = StoreLoader(sources, evaluator, candidate=candidate, cache=cache).load_all()
    _report_problems(store.problems)
    rows = selection.apply(store)
    try:
        result = export_rows(store, rows, fmt, args.output, force=args.force, redact=args.redact)
    except ExportError as problem:
        error(str(problem))
        return 1
    finally:
        store.close()
    if args.output != "-":
        print(f"exported {result.count} of {len(store)} events to {visible(result.path)}", file=sys.stderr)
    return 0


def _streamed(
    args: argparse.Namespace,
    sources: list[LogSource],
    selection: Filter | str,
    fmt: Format,
    evaluator: PolicyEvaluator | None,
    candidate: PolicyEvaluator | None,
) -> int:
    """jsonl, json and csv without a store (engine.streaming.export): the same output in bounded memory.
    Inputs unwrapped from a cloud or shipper format take the store's path (`run`): its rows and
    problems are numbered by the original records, which the streaming ranges do not map."""
    from k8saudit_tui.engine.streaming.export import stream_export

    try:
        result = stream_export(
            sources,
            selection,
            fmt,
            args.output,
            evaluator=evaluator,
            candidate=candidate,
            force=args.force,
            redact=args.redact,
        )
    except ExportError as problem:
        error(str(problem))
        return 1
    finally:
        _remove_spools(sources)
    _report_problems(result.problems)
    if args.output != "-":
        print(f"exported {result.count} of {result.events} events to {visible(result.path)}", file=sys.stderr)
    return 0


def _remove_spools(sources: Sequence[LogSource]) -> None:
    """A .gz or stdin spooled for this export goes now (it holds a copy of the log), not at exit."""
    for source in sources:
        if source.spooled:
            try:
                os.unlink(source.path)
            except OSError:
                pass


def _fields_needing_policy(selection: Filter) -> list[str]:
    """The fields of the filter whose values only a loaded policy gives, in the order first used."""
    names = [term.field for term in selection.terms if term.field is not None]
    return list(dict.fromkeys(name for name in names if name in by_filter_name and by_filter_name[name].needs_policy))


def _format_from_name(path: str) -> Format:
    lowered = path.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith((".parquet", ".pq")):
        return "parquet"
    return "jsonl"


def _report_problems(problems: Sequence[object]) -> None:
    """Unreadable lines are data, not failures: say how many, and show the first few."""
    if not problems:
        return
    for problem in problems[:_PROBLEMS_SHOWN]:
        print(f"skipped: {visible(str(problem))}", file=sys.stderr)
    if len(problems) > _PROBLEMS_SHOWN:
        print(f"skipped {len(problems)} unreadable lines in all", file=sys.stderr)
