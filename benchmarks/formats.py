"""Loading a log as clouds deliver it, against loading the raw log: `python benchmarks/formats.py [EVENTS [ROUNDS]]`.

Builds, from the generated log (EVENTS, default 1,000,000; /tmp/k8saudit-bench-1000000.jsonl is
reused when it is there), three envelopes cached in /tmp: EKS CloudWatch JSONL (one
`filter-log-events` record per line), the EKS S3 export (`TIMESTAMP {json}` lines) and AKS storage
JSONL (one diagnostic record per line). Then loads the raw log and each envelope into the store,
alternately (the machine is shared: a ratio is only fair when both run in the same minutes), and
prints the p50 load times and the ratio to the raw load (target: <= 1.3), and the time a MB of input
against the raw log's (an envelope holds 20-50% more bytes than its Events). By default the envelopes
are unwrapped as the commands do (a spool, then the store's load); `--fused` measures the
one-pass path (`normalise(parse=True)`), which the explorer takes when no index of the file is cached.

The provider modules (formats/eks.py, formats/aks.py) are used when present; until then the
records are read by stand-ins (benchmarks/standin_eks.py, standin_aks.py) through the same reader.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import orjson
from shared import DEMO_POLICY, generated_log

from k8saudit_tui.commands.common import load_policy_or_exit
from k8saudit_tui.engine.logs.formats import reader
from k8saudit_tui.engine.logs.formats.registry import MODULES, load
from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import StoreLoader

REPEAT = 3
AKS_RESOURCE = "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS"


def raw_log(events: int) -> Path:
    cached = Path(f"/tmp/k8saudit-bench-{events}.jsonl")
    return cached if cached.exists() else generated_log(events)


def envelope(raw: Path, name: str) -> Path:
    """The envelope `name` around every line of `raw`, built once into /tmp."""
    out = Path(f"/tmp/k8saudit-bench-{name}-{raw.stem.rsplit('-', 1)[-1]}.jsonl")
    if out.exists():
        return out
    print(f"building {out} ...", flush=True)
    partial = out.with_suffix(".partial")
    with raw.open("rb") as source, partial.open("wb") as sink:
        for index, line in enumerate(source):
            event = line.rstrip(b"\n")
            millis = 1_700_000_000_000 + index
            if name == "eks-cloudwatch":
                record = {
                    "logStreamName": "kube-apiserver-audit-0123456789abcdef",
                    "timestamp": millis,
                    "message": event.decode(),
                    "ingestionTime": millis + 500,
                    "eventId": f"{index:056d}",
                }
                sink.write(orjson.dumps(record) + b"\n")
            elif name == "eks-s3":
                sink.write(b"2023-11-14T22:13:20.000Z " + event + b"\n")
            else:
                record = {
                    "category": "kube-audit",
                    "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
                    "properties": {"log": event.decode(), "pod": "kube-apiserver-6d8f7c9b4-x2x7q", "stream": "stdout"},
                    "resourceId": AKS_RESOURCE,
                    "time": "2023-11-14T22:13:20.0000000Z",
                }
                sink.write(orjson.dumps(record) + b"\n")
    partial.rename(out)
    return out


def registry() -> tuple[tuple[str, str], ...]:
    """The real registry, with stand-ins for the providers not in the tree."""
    present = {name for name, _ in load(MODULES)}
    extra = tuple((f"standin-{name}", f"benchmarks.standin_{name}") for name in ("eks", "aks") if name not in present)
    if extra:
        print(f"stand-ins for {', '.join(name for name, _ in extra)}: the provider modules are not in the tree")
    return (*MODULES, *extra)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker pools): steadier than
    wall time on a shared machine, where a load's wall time varies by 2x from run to run."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_seconds(
    path: Path, evaluator: PolicyEvaluator, modules: tuple[tuple[str, str], ...], fused: bool = False
) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, events) of loading `path` into the store, unwrapping included."""
    cpu = cpu_seconds()
    started = time.perf_counter()
    (source,) = expand_sources([str(path)], format="raw")  # as it is; unwrapped below, timed
    source = reader.normalise(source, registry=modules, parse=fused)  # fused: unwrapped and parsed at once
    store = StoreLoader([source], evaluator).load_all()
    elapsed = time.perf_counter() - started
    count = len(store)
    store.close()
    if source.spooled:  # as a command does when done: a run does not leave a GB of spool behind
        os.unlink(source.path)
    return elapsed, cpu_seconds() - cpu, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", nargs="?", type=int, default=1_000_000, help="events in the log (default 1M)")
    parser.add_argument("rounds", nargs="?", type=int, default=REPEAT, help="alternated rounds")
    parser.add_argument(
        "--fused",
        action="store_true",
        help="unwrap and parse in one pass (normalise(parse=True)): the explorer's path on a first open",
    )
    args = parser.parse_args()
    events, rounds = args.events, args.rounds
    evaluator = load_policy_or_exit(str(DEMO_POLICY))
    if evaluator is None:
        return 2
    raw = raw_log(events)
    names = ("eks-cloudwatch", "eks-s3", "aks-storage")
    paths = {"raw": raw, **{name: envelope(raw, name) for name in names}}
    modules = registry()
    times: dict[str, list[float]] = {name: [] for name in paths}
    cpus: dict[str, list[float]] = {name: [] for name in paths}
    for round_ in range(rounds):
        for name, path in paths.items():
            seconds, cpu, count = load_seconds(path, evaluator, modules, args.fused)
            times[name].append(seconds)
            cpus[name].append(cpu)
            print(f"round {round_ + 1}: {name}: {count:,} events in {seconds:.2f} s ({cpu:.1f} CPU-s)", flush=True)
    base, base_cpu = statistics.median(times["raw"]), statistics.median(cpus["raw"])
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    print(f"\nload into the store, {events:,} events, p50 of {rounds} alternated runs:")
    for name, values in times.items():
        p50, cpu = statistics.median(values), statistics.median(cpus[name])
        size = sizes[name] / sizes["raw"]
        print(
            f"  {name:15} {p50:6.2f} s wall {p50 / base:.2f}x raw   {cpu:6.1f} CPU-s {cpu / base_cpu:.2f}x raw"
            f"   {sizes[name] / 1e6:6,.0f} MB {size:.2f}x raw: wall a MB {p50 / base / size:.2f}x raw's"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
