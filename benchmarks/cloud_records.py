"""What unwrapping EKS and AKS envelopes costs next to parsing the Events they carry.

Run: `python benchmarks/cloud_records.py [LOG] [--lines N] [--repeat R]`. Takes the first N Event
lines of LOG (default: /tmp/k8saudit-bench-1000000.jsonl when it exists, else the generated log),
wraps each as one CloudWatch event object per line (`envelope_eks`) and as one AKS storage record
per line (`envelope_aks`), checks that `fast_lines` gives the lines back byte for byte, then times,
alternately in the same minutes, (a) msgspec-decoding the raw Event lines the way the loader does
(`EventFields`, blocks of BLOCK_LINES), (b) `eks.fast_lines` / `aks.fast_lines` over the
envelopes in blocks of the same size and (c) the floor of any msgspec unwrapping: decoding only
the message string of each envelope, nothing else done, and (d) the reader's whole-range path
(`formats/whole_range.py`: the file's bytes, envelopes decoded a 1 MB block a call, not line by
line), which a range of one envelope a line takes, beside (e) the line path it stands in for
(`reader.unwrap_data` with the whole-range path off: the file split into lines, blocks offered to
`fast_lines`, their events joined). Prints the p50 of each and its ratio to (a)
(target: well under 0.5, so that reading an envelope stays near the cost of the raw log; the floor
shows how far JSON-unescaping the Event text alone already is from it).

`envelope_eks(lines)` and `envelope_aks(lines)` are importable by the other benchmarks.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import msgspec
import orjson
from shared import generated_log

from k8saudit_tui.engine.logs.batch import BLOCK_LINES
from k8saudit_tui.engine.logs.event import EventFields
from k8saudit_tui.engine.logs.formats import aks, eks, reader
from k8saudit_tui.engine.logs.formats.registry import fast_modules
from k8saudit_tui.engine.logs.formats.whole_range import whole_range

BENCH_LOG = Path("/tmp/k8saudit-bench-1000000.jsonl")
_STREAM = b"kube-apiserver-audit-5f2c0e7d1b9a4c3e8f6a"
_EVENT_ID = b"37123456789012345678901234567890123456789012345678901234"
_AKS_HEAD = (
    b'{ "category": "kube-audit", "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read", '
    b'"properties": {"pod":"kube-apiserver-6797f4455b-jdgtt",'
    b'"containerID":"c2120cb7d9e9402426ea2cbcc6d2a4cbe712af7bf35195b2d39f2e215b3a4e3c","log":'
)
_AKS_TAIL = (
    b',"stream":"stdout"}, "resourceId": "/SUBSCRIPTIONS/0B62A232-B8DB-4380-9DA6-640F7272ED6D/RESOURCEGROUPS/RG'
    b'/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/BENCH", "serviceBuild": "na", '
    b'"time": "2024-11-15T21:00:00.154534959Z"}'
)


def envelope_eks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Each Event line as one CloudWatch event object (what `filter-log-events` prints per event,
    `jq -c '.events[]'`), one per line: stream name, ms timestamps, message, event id."""
    for number, line in enumerate(lines):
        stamp = b"%d" % (1732000000000 + number)
        yield (
            b'{"logStreamName":"' + _STREAM + b'","timestamp":' + stamp + b',"message":'
            + orjson.dumps(line.decode("utf-8")) + b',"ingestionTime":' + stamp + b',"eventId":"' + _EVENT_ID + b'"}'
        )  # fmt: skip


def envelope_aks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Each Event line as one AKS diagnostic record (a storage blob line, DataDog fixture shape):
    `properties.log` the Event with its trailing newline, `/` escaped as `\\/` as Azure writes it."""
    for line in lines:
        log = orjson.dumps(line.decode("utf-8") + "\n").replace(b"/", b"\\/")
        yield _AKS_HEAD + log + _AKS_TAIL


class _Message(msgspec.Struct, gc=False):
    """The floor for CloudWatch: the message string and nothing else."""

    message: str


class _Properties(msgspec.Struct, gc=False):
    log: str


class _Record(msgspec.Struct, gc=False):
    """The floor for AKS: `properties.log` and nothing else."""

    properties: _Properties


def line_path(data: bytes) -> None:
    """`reader.unwrap_data` over a file's bytes as it reads a range the whole-range path declines."""
    taken, reader.whole_range = reader.whole_range, lambda *_: None
    try:
        reader.unwrap_data(data, True, "lines", None)
    finally:
        reader.whole_range = taken


def _blocks(pieces: list[bytes]) -> list[list[bytes]]:
    return [pieces[start : start + BLOCK_LINES] for start in range(0, len(pieces), BLOCK_LINES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", nargs="?", help="an Event log (JSON lines)")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    log = Path(args.log) if args.log else BENCH_LOG if BENCH_LOG.exists() else generated_log(args.lines)
    lines: list[bytes] = []
    with open(log, "rb") as handle:
        for line in handle:
            lines.append(line.rstrip(b"\n"))
            if len(lines) == args.lines:
                break
    raw, cloudwatch, azure = _blocks(lines), _blocks(list(envelope_eks(lines))), _blocks(list(envelope_aks(lines)))
    for name, module, blocks in (("EKS", eks, cloudwatch), ("AKS", aks, azure)):
        same = all(module.fast_lines(block) == expected for block, expected in zip(blocks, raw))
        assert same and len(blocks) == len(raw), f"{name}: fast_lines did not give the Event lines back"
    texts = {
        name: b"".join(line + b"\n" for block in blocks for line in block)
        for name, blocks in (("EKS", cloudwatch), ("AKS", azure))
    }
    modules = fast_modules(None)
    for name, data in texts.items():
        chunk = whole_range(data, True, modules)
        assert chunk is not None and chunk.events == lines, f"{name}: the whole range did not give the Event lines back"
    decode = msgspec.json.Decoder(EventFields).decode

    def parse() -> None:  # each block's events dropped after it, as the loader hands them on
        for block in raw:
            list(map(decode, block))

    def unwrap(fast_lines: Callable[[list[bytes]], list[bytes] | None], blocks: list[list[bytes]]) -> None:
        for block in blocks:
            fast_lines(block)

    def floor(decoder: Callable[[bytes], object], blocks: list[list[bytes]]) -> None:
        for block in blocks:
            list(map(decoder, block))

    message, record = msgspec.json.Decoder(_Message).decode, msgspec.json.Decoder(_Record).decode
    runs: dict[str, Callable[[], object]] = {
        "parse the raw Events (msgspec EventFields)": parse,
        "eks.fast_lines (CloudWatch event objects)": lambda: unwrap(eks.fast_lines, cloudwatch),
        "  floor: msgspec decoding only their message": lambda: floor(message, cloudwatch),
        "  the reader's line path over the file (split, blocks offered, joined)": lambda: line_path(texts["EKS"]),
        "  the reader's whole-range path over the file (a 1 MB block a call)": lambda: whole_range(
            texts["EKS"], True, modules
        ),
        "aks.fast_lines (AKS storage records)": lambda: unwrap(aks.fast_lines, azure),
        "  floor: msgspec decoding only their properties.log": lambda: floor(record, azure),
        "  the reader's line path over the file": lambda: line_path(texts["AKS"]),
        "  the reader's whole-range path over the file": lambda: whole_range(texts["AKS"], True, modules),
    }
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.repeat):  # alternated, so CPU contention hits every measure alike
        for label, run in runs.items():
            started = time.process_time()  # CPU time: a run that waits for a core is not slower
            run()
            times[label].append((time.process_time() - started) * 1000)
    print(f"{len(lines):,} events of {log} (blocks of {BLOCK_LINES}), p50 CPU time of {args.repeat} alternated runs:")
    parse = statistics.median(times[next(iter(runs))])
    for label, measured in times.items():
        p50 = statistics.median(measured)
        print(f"  {label}: {p50:.0f} ms ({p50 / parse:.2f}x parsing)")


if __name__ == "__main__":
    main()
