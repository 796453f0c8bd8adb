"""`python -m k8saudit_tui.sample`: the command line of the generator.

Bad arguments are refused before anything is written (exit status 2, as argparse does); a policy's
problems are printed with control characters made visible, since a policy file is untrusted text.
"""

from __future__ import annotations

import argparse
import sys
import time

import orjson

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.sample.helpers import parse_start
from k8saudit_tui.sample.writer import DEMO_LOG, load_evaluator, make_demo, write_log


def main(argv: list[str] | None = None) -> int:
    """`python -m k8saudit_tui.sample --events N [--seed S] [--policy FILE] ... -o FILE`."""
    parser = argparse.ArgumentParser(
        prog="python -m k8saudit_tui.sample",
        description="Write a synthetic kube-apiserver audit log (JSON lines).",
    )
    parser.add_argument("--events", "-n", type=int, help="number of event lines to write")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42); same arguments, same bytes")
    parser.add_argument("--policy", help="audit Policy file: levels and omitted stages follow it")
    parser.add_argument("--hostile", type=float, default=0.0, help="fraction of requests with hostile strings")
    parser.add_argument(
        "--bodies",
        type=float,
        default=0.05,
        help="without --policy: fraction of requests at Request/RequestResponse (0.05)",
    )
    parser.add_argument("--rate", type=float, default=600.0, help="requests per second (600)")
    parser.add_argument(
        "--start", default="2026-11-20T09:00:00Z", help="first timestamp, RFC 3339 (2026-11-20T09:00:00Z)"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip the output (byte-stable)")
    parser.add_argument("--stats", action="store_true", help="print counts and speed to stderr")
    parser.add_argument("--demo", action="store_true", help="regenerate the bundled demo log and exit")
    parser.add_argument("-o", "--output", help="output file ('-' = stdout)")
    args = parser.parse_args(argv)
    if args.demo:
        make_demo(args.output or DEMO_LOG)
        return 0
    if args.events is None or args.output is None:
        parser.error("--events and -o are required")
    if args.events < 0 or not 0 <= args.hostile <= 1 or not 0 <= args.bodies <= 1 or args.rate <= 0:
        parser.error("--events must be >= 0, --hostile/--bodies within [0, 1], --rate > 0")
    try:
        parse_start(args.start)
    except ValueError as error:
        parser.error(f"--start: {error}")
    evaluator = None
    if args.policy:
        try:
            evaluator = load_evaluator(args.policy)
        except (OSError, ValueError) as error:
            print(visible(f"samplegen: {args.policy}: {error}"), file=sys.stderr)
            return 2
    began = time.perf_counter()
    try:
        stats = write_log(
            args.output,
            args.events,
            args.seed,
            start=args.start,
            evaluator=evaluator,
            hostile=args.hostile,
            bodies=args.bodies,
            rate=args.rate,
            gzip=args.gzip,
        )
    except BrokenPipeError:
        return 0
    if args.stats:
        seconds = time.perf_counter() - began
        summary = {
            "events": stats.events,
            "requests": stats.requests,
            "unlogged_requests": stats.unlogged_requests,
            "stages": stats.stages,
            "levels": stats.levels,
            "seconds": round(seconds, 3),
            "events_per_second": round(stats.events / max(seconds, 1e-9)),
        }
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode(), file=sys.stderr)
    return 0
