"""`report_fleet`: the engine's report parts of many shards, computed and merged as Dask tasks.

Contract: `plan_paths(paths_or_globs)` turns files, directories and globs into the engine's
`Shard`s (plain files cut into byte ranges of about `shard_bytes` at line boundaries by
`split.cut`; a gzip file, a pipe, a file of cloud or shipper records or a whole JSON document is
one shard, decompressed or unwrapped by the worker that reads it) and the problems of what cannot
be read; `fleet_part` maps the shards to Dask tasks
(`read_shard`, the policies sent once with `scatter`) and combines the parts on the workers in a
tree, `COMBINE_FAN_IN` at a time; `report_fleet` is `report_of` that part.

Why the planner runs on the client and reads only sizes and first bytes: cutting a file needs its
size, and its first 4 KiB tell gzip and a JSON document from a log; nothing else is read there.
The paths must name the same files on the client and on the workers (a shared mount), as with any
Dask job that reads files by path.
"""

from __future__ import annotations

import functools
import glob
import os
import stat
from collections.abc import Iterable, Sequence
from typing import Any

from distributed import Client, Future, LocalCluster, get_client

from k8saudit_tui.engine.logs.batch import looks_like_document
from k8saudit_tui.engine.logs.formats import documents
from k8saudit_tui.engine.logs.sources import GZIP_MAGIC, is_log_name
from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.workbench.report import Report
from k8saudit_tui.engine.workbench.report_part import ReportPart, combine, empty_part, report_of
from k8saudit_tui.engine.workbench.shards import Shard, ranges, read_shard

SHARD_BYTES = 64 << 20
"""About how many bytes one task reads: large enough that Dask's per-task overhead (about a
millisecond) is nothing beside the reading (~0.5 s), small enough that a worker's shard store stays
in tens of MB and a month of logs gives enough tasks to keep every core busy."""

COMBINE_FAN_IN = 16
"""Parts combined by one task of the reduction tree (a part is a few KB of counters)."""


def plan_paths(
    paths_or_globs: Iterable[str], shard_bytes: int = SHARD_BYTES, log_format: str | None = None
) -> tuple[list[Shard], list[Problem]]:
    """The shards of every file named (globs expanded, `**` included; directories give their
    audit logs in name order) and a problem for each name that gives nothing readable; a file of
    cloud or shipper records (or any file, with a `log_format` that unwraps) is one shard,
    unwrapped by its worker."""
    shards: list[Shard] = []
    unread: list[Problem] = []
    for pattern in paths_or_globs:
        names = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not names:
            unread.append(Problem(pattern, None, "", "no file matches"))
        for name in names:
            _plan_path(name, shard_bytes, log_format, shards, unread)
    return shards, unread


def _plan_path(path: str, shard_bytes: int, log_format: str | None, shards: list[Shard], unread: list[Problem]) -> None:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            names = sorted(os.listdir(path))
            members = [os.path.join(path, n) for n in names if is_log_name(n) and os.path.isfile(os.path.join(path, n))]
            if not members:  # as `report` says it (sources.expand_sources)
                unread.append(Problem(path, None, "", "no audit logs in this directory", "warning"))
            for member in members:
                _plan_path(member, shard_bytes, log_format, shards, unread)
            return
        if not stat.S_ISREG(info.st_mode):
            shards.append(Shard(path, path, log_format=log_format))  # a pipe is read once: by its worker
            return
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as error:
        unread.append(Problem(path, None, "", f"cannot read: {error.strerror or error}"))
        return
    if head.startswith(GZIP_MAGIC) or documents.mode(head, log_format) != "raw":
        shards.append(Shard(path, path, log_format=log_format))  # decompressed or unwrapped by its worker
    elif looks_like_document(head):
        shards.append(Shard(path, path, 0, info.st_size, document=True))
    else:
        shards += [Shard(path, path, start, end) for start, end in ranges(path, info.st_size, shard_bytes)]


def report_fleet(
    policy: Policy,
    candidate: Policy | None,
    paths_or_globs: Sequence[str],
    client: Client | None = None,
    shard_bytes: int = SHARD_BYTES,
    log_format: str | None = None,
) -> Report:
    """The report of `policy` (and `candidate`) over the logs, read by the Dask cluster of
    `client` (default: the current client, else a LocalCluster of worker processes for the call)."""
    part = fleet_part(policy, candidate, paths_or_globs, client, shard_bytes, log_format)
    return report_of(part, policy, candidate)


def fleet_part(
    policy: Policy,
    candidate: Policy | None,
    paths_or_globs: Sequence[str],
    client: Client | None = None,
    shard_bytes: int = SHARD_BYTES,
    log_format: str | None = None,
) -> ReportPart:
    """The combined part of every shard of the logs (its `unread` names what could not be read)."""
    policies = (policy,) if candidate is None else (policy, candidate)
    shards, unread = plan_paths(paths_or_globs, shard_bytes, log_format)
    own = None
    if client is None:
        try:
            client = get_client()
        except ValueError:  # no client yet: a cluster on this machine, for this call
            own = client = Client(LocalCluster(processes=True, threads_per_worker=1, dashboard_address=":0"))
    try:
        part = _run(client, policies, shards)
    finally:
        if own is not None:
            cluster = own.cluster
            own.close()
            if cluster is not None:
                cluster.close()
    return combine([empty_part(policies, unread), part]) if part is not None else empty_part(policies, unread)


def _run(client: Client, policies: tuple[Policy, ...], shards: Sequence[Shard]) -> ReportPart | None:
    if not shards:
        return None
    [shared] = client.scatter([policies], broadcast=True)  # once per worker, not once per task
    futures: list[Future] = client.map(_read, shards, policies=shared, pure=False)
    while len(futures) > 1:
        groups = [futures[i : i + COMBINE_FAN_IN] for i in range(0, len(futures), COMBINE_FAN_IN)]
        futures = [client.submit(_combine, *group, pure=False) for group in groups]
    part: ReportPart = futures[0].result()
    return part


def _read(shard: Shard, policies: tuple[Policy, ...]) -> ReportPart:
    """The task: the part of one shard (evaluators are built once per worker and policy set)."""
    return read_shard(_evaluators(policies), shard)


@functools.lru_cache(maxsize=4)
def _evaluators(policies: tuple[Policy, ...]) -> tuple[PolicyEvaluator, ...]:
    return tuple(PolicyEvaluator(policy) for policy in policies)


def _combine(*parts: Any) -> ReportPart:
    return combine(parts)
