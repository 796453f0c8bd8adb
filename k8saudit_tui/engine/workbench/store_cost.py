"""The bytes of the loaded policy and the candidate over a loaded store, from its columns.

Contract: `store_costs(store)` gives the `CostSummary` of each policy equal to `cost.cost_of_lines`
over the same lines (one `apply.apply_line` per line; property-tested): every figure but
`unreadable`, which here counts the store's problems and the events that cannot be rewritten.

Why not `apply_line` per row: decoding, evaluating and re-encoding a million events takes seconds
(the report ran at 3x `evaluate`, the TUI's W panel ~20 s). Most events are written exactly as
recorded, and then `apply` copies the line: its bytes are the store's line length and a newline,
known without reading it. `apply_event` keeps a line when the level written is the recorded one,
no body below that level is in the line and no `managedFields` is when the policy omits them; the
store has the verdicts and the recorded level, and one pass over the log's bytes (pread, or
mapped for a one-shot reader) with a memchr for `O` and `F` (the capitals of `requestObject`, `responseObject`,
`managedFields`) finds the few lines holding those words, with the same substring test
`apply_event` makes. Only the rows whose written form may change (a lowered level, a body to
drop, a line ending in CR) go through `apply.rewrite`, with the store's verdict, as `apply_event`
would send them; a row both policies rewrite alike is rewritten once.

Rows whose file is gone (`EventStore.readable`) are left out, as the TUI always did; `report`
passes the rows of its plain source files only (EventList items have no line `apply` would read).
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from k8saudit_tui.engine.logs.event import EventError
from k8saudit_tui.engine.model import LEVELS, Policy
from k8saudit_tui.engine.policy.lossy_decision import OMIT_UNKNOWN, UNKNOWN_LEVEL, UNKNOWN_RULE
from k8saudit_tui.engine.store import EventStore
from k8saudit_tui.engine.store.verdicts import NO_RULE
from k8saudit_tui.engine.workbench.apply import rewrite
from k8saudit_tui.engine.workbench.cost import CostSummary, Share

READ_BYTES = 1 << 24
"""Bytes of the log read at once to look for the words (whole rows; a longer row is read alone)."""

REQUEST_BODY, RESPONSE_BODY, MANAGED_FIELDS, ENDS_IN_CR = 1, 2, 4, 8
"""Bits of a row's flags: the words `apply_event` looks for in a line, and a line whose CR
`apply` leaves out (its bytes are then not the length and a newline)."""

_WORDS: tuple[tuple[bytes, tuple[tuple[int, bytes, int], ...]], ...] = (
    (b"O", ((8, b'"requestObject"', REQUEST_BODY), (9, b'"responseObject"', RESPONSE_BODY))),
    (b"F", ((8, b'"managedFields"', MANAGED_FIELDS),)),
)
"""(anchor byte, ((its distance from the word's start, the word, flag), ...)): the anchor is the
only capital of the word, rare in audit logs, so a memchr for it finds the word's candidates."""

_METADATA, _REQUEST, _REQUEST_RESPONSE = (LEVELS.index(name) for name in ("Metadata", "Request", "RequestResponse"))


def store_costs(
    store: EventStore,
    rows: np.ndarray | None = None,
    cancel: threading.Event | None = None,
    *,
    mapped: bool = False,
    progress: Callable[[float], None] | None = None,
    loaded: Loaded | None = None,
) -> tuple[CostSummary, CostSummary | None] | None:
    """(the loaded policy's cost, the candidate's or None) over `rows` (default: every row);
    None when the store has no policy or `cancel` was set (checked between reads and between
    rewrites). `progress` gets the share of the rows read before each read (the TUI's W panel
    and B key; the rewrites after the last read are the few rows whose written form changes).

    `mapped` reads the log through read-only mappings instead of pread (no copy of the page
    cache: a third faster), for a one-shot reader such as `report`; not where logs are followed:
    a mapped file truncated by a copytruncate rotation kills the process (SIGBUS) when read.
    `loaded`: bytes of the log the caller holds already (a report shard's), read from there
    instead of again."""
    current, candidate = store.evaluator, store.candidate_evaluator
    if current is None:
        return None
    every = rows is None
    n = len(store)  # a followed store grows meanwhile: these rows are the ones costed
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    readable = store.readable(rows)
    every &= bool(readable.all())
    rows = rows[readable]
    policies = [current] if candidate is None else [current, candidate]
    managed = any(_may_omit_managed_fields(evaluator.policy) for evaluator in policies)
    flags = line_flags(store, rows, managed, cancel, mapped=mapped, progress=progress, loaded=loaded)
    if flags is None:
        return None
    sizes: dict[tuple[int, int, bool], int | None] = {}  # a row both policies rewrite alike: once
    try:
        summaries = [
            _summary(store, n, rows if not every else None, flags, prefix, sizes, cancel)
            for prefix, _ in zip(("", "candidate_"), policies, strict=False)
        ]
    except _Cancelled:
        return None
    problems = len(store.problems)
    summaries = [replace(summary, unreadable=summary.unreadable + problems) for summary in summaries]
    return summaries[0], summaries[1] if len(summaries) > 1 else None


def _may_omit_managed_fields(policy: Policy) -> bool:
    return policy.omit_managed_fields or any(rule.omit_managed_fields for rule in policy.rules)


@dataclass(frozen=True, slots=True)
class Loaded:
    """Bytes [base, base + len(data)) of the store's file number `file`, already in memory (a
    report shard read them to parse them: `line_flags` looks for the words there, not again in
    the file)."""

    file: int
    base: int
    data: bytes


@contextmanager
def _span(
    store: EventStore, file: int, low: int, high: int, mapping: bool, loaded: Loaded | None = None
) -> Iterator[tuple[mmap.mmap | bytes, int]]:
    """(a buffer holding bytes [low, high) of the file, the file offset of its first byte): the
    `loaded` bytes when they hold the span; with `mapping`, a read-only mapping of just that span
    (unmapped after, so the process never holds the whole log), else (or when mmap refuses) what
    pread gives."""
    if loaded is not None and loaded.file == file and loaded.base <= low and high <= loaded.base + len(loaded.data):
        yield loaded.data, loaded.base
        return
    entry = store.files[file]
    descriptor = store.descriptor(entry)
    mapped = None
    if mapping:
        start = low - low % mmap.ALLOCATIONGRANULARITY
        try:
            high = min(high, os.fstat(descriptor).st_size)
            mapped = mmap.mmap(descriptor, high - start, access=mmap.ACCESS_READ, offset=start)
        except (ValueError, OSError):  # an empty span, or a file mmap refuses
            mapped = None
    if mapped is None:
        yield os.pread(descriptor, max(high - low, 0), low), low
        return
    try:
        yield mapped, start
    finally:
        mapped.close()


def line_flags(
    store: EventStore,
    rows: np.ndarray,
    managed: bool = True,
    cancel: threading.Event | None = None,
    *,
    mapped: bool = False,
    progress: Callable[[float], None] | None = None,
    loaded: Loaded | None = None,
) -> np.ndarray | None:
    """Per row of `rows`, the bits REQUEST_BODY, RESPONSE_BODY, MANAGED_FIELDS (looked for only
    when `managed`) and ENDS_IN_CR of its bytes; None when `cancel` was set. `mapped`,
    `progress`, `loaded`: see `store_costs`."""
    flags = np.zeros(len(rows), np.uint8)
    files = store.column("file")[rows]
    offsets = store.gather("offset", rows)
    ends = offsets + store.gather("length", rows)
    words = _WORDS if managed else _WORDS[:1]
    done = 0
    for file in np.unique(files).tolist():
        picked = np.flatnonzero(files == file)
        if np.any(offsets[picked][1:] < offsets[picked][:-1]):  # rows are in file order when loaded
            picked = picked[np.argsort(offsets[picked], kind="stable")]
        starts, stops = offsets[picked], ends[picked]
        first = 0
        while first < len(picked):
            if cancel is not None and cancel.is_set():
                return None
            if progress is not None:
                progress(done / len(rows))
            last = max(first + 1, int(np.searchsorted(starts, starts[first] + READ_BYTES, "left")))
            low = int(starts[first])
            with _span(store, file, low, int(stops[first:last].max()), mapped, loaded) as (data, base):
                chunk_starts, chunk_stops = starts[first:last] - base, stops[first:last] - base
                found = _flags_in(data, chunk_starts, np.minimum(chunk_stops, len(data)), words)
                ending = np.zeros(len(chunk_stops), bool)
                if len(data):  # empty when the file shrank below these rows (they are gone)
                    view = np.frombuffer(data, np.uint8)
                    ending = view[np.clip(chunk_stops - 1, 0, len(data) - 1)] == ord("\r")
                    del view  # a mapping with an exported buffer cannot be closed
                found[ending & (chunk_stops > chunk_starts) & (chunk_stops <= len(data))] |= ENDS_IN_CR
            flags[picked[first:last]] |= found
            done += last - first
            first = last
    return flags


def _flags_in(
    data: mmap.mmap | bytes,
    starts: np.ndarray,
    stops: np.ndarray,
    words: Sequence[tuple[bytes, tuple[tuple[int, bytes, int], ...]]],
) -> np.ndarray:
    """The word bits of the rows [starts, stops) of `data` (sorted, not overlapping)."""
    found = np.zeros(len(starts), np.uint8)
    low, high = int(starts[0]), int(stops.max())
    positions: list[int] = []
    ends: list[int] = []
    bits: list[int] = []
    budget = 4 * len(starts) + 64
    """Anchors met before looking for each word instead (a log where the anchor is everywhere)."""
    for anchor, candidates in words:
        met = 0
        mark = len(positions)
        at = data.find(anchor, low, high)
        while at >= 0:
            met += 1
            if met > budget:
                del positions[mark:], ends[mark:], bits[mark:]
                for _back, word, bit in candidates:
                    at = data.find(word, low, high)
                    while at >= 0:
                        positions.append(at)
                        ends.append(at + len(word))
                        bits.append(bit)
                        at = data.find(word, at + 1, high)
                break
            for back, word, bit in candidates:
                if at - back >= low and data[at - back : at - back + len(word)] == word:
                    positions.append(at - back)
                    ends.append(at - back + len(word))
                    bits.append(bit)
            at = data.find(anchor, at + 1, high)
    if positions:
        where = np.array(positions, np.int64)
        row = np.searchsorted(starts, where, "right") - 1
        inside = (row >= 0) & (np.array(ends, np.int64) <= stops[np.maximum(row, 0)])
        np.bitwise_or.at(found, row[inside], np.array(bits, np.uint8)[inside])
    return found


class _Cancelled(Exception):
    """`cancel` was set between two rewrites."""


CANCEL_EVERY = 4096
"""Rewrites between two looks at `cancel` (a policy that lowers every level rewrites every row)."""


def _summary(
    store: EventStore,
    n: int,
    selected: np.ndarray | None,
    flags: np.ndarray,
    prefix: str,
    rewritten: dict[tuple[int, int, bool], int | None],
    cancel: threading.Event | None = None,
) -> CostSummary:
    """One policy's CostSummary over the `selected` rows of the first `n` (None: all `n`, read
    without gathers): kept lines from the columns, the others through `apply.rewrite` (what
    `apply_event` does with a line it does not keep, given the store's verdict); _Cancelled when
    `cancel` is set meanwhile."""
    rows = np.arange(n, dtype=np.int64) if selected is None else selected

    def take(column: np.ndarray) -> np.ndarray:
        """The column's values of the rows: no gather when they are every row."""
        return column if selected is None else column[selected]

    omitted = take(store.column(f"{prefix}omitted", n))
    level = take(store.column(f"{prefix}level", n)).astype(np.int64)
    # a lost field decides whether or how it is written (lossy.py): no bytes, and a lower bound
    unknown = (omitted == OMIT_UNKNOWN) | (level == UNKNOWN_LEVEL) if omitted.dtype != bool else np.zeros(0, bool)
    written = (omitted == 0) & ~unknown if len(unknown) else omitted == 0
    recorded = take(store.column("recorded", n)).astype(np.int64)
    known = (recorded >= _METADATA) & (recorded <= _REQUEST_RESPONSE)
    written_level = np.where(known, np.minimum(level, recorded), level)
    lower = written & (~known | (level > recorded))
    kept = written & known & (level >= recorded) & ((flags & ENDS_IN_CR) == 0)
    kept &= (written_level >= _REQUEST) | ((flags & REQUEST_BODY) == 0)
    kept &= (written_level >= _REQUEST_RESPONSE) | ((flags & RESPONSE_BODY) == 0)
    omits_managed = _omits_managed_fields(store, rows, prefix, written & ((flags & MANAGED_FIELDS) != 0))
    kept &= ~omits_managed
    lengths = store.column("length", n) if selected is None else store.gather("length", selected)
    sizes = np.where(kept, lengths + 1, 0)
    costed = np.ones(len(rows), bool)
    slow = np.flatnonzero(written & ~kept)
    if len(slow):
        asked = np.zeros(len(rows), bool)
        asked[slow] = True
        omits = _omits_managed_fields(store, rows, prefix, asked)[slow].tolist()
        patch = store.values("verb").index("patch") if "patch" in store.values("verb") else -1
        patches = (store.column("verb", n)[rows[slow]] == patch).tolist()
        files = store.column("file", n)[rows[slow]].tolist()
        descriptors = {file: store.descriptor(store.files[file]) for file in set(files)}
        offsets = store.gather("offset", rows[slow]).tolist()
        for position, row, rank, omit, is_patch, file, offset, length in zip(
            slow.tolist(),
            rows[slow].tolist(),
            written_level[slow].tolist(),
            omits,
            patches,
            files,
            offsets,
            lengths[slow].tolist(),
            strict=True,
        ):
            key = (row, rank, omit)
            if key not in rewritten:
                if cancel is not None and len(rewritten) % CANCEL_EVERY == 0 and cancel.is_set():
                    raise _Cancelled
                text = os.pread(descriptors[file], length, offset).rstrip(b"\r\n")
                try:
                    rewritten[key] = len(rewrite(text, LEVELS[rank], omit, is_patch)) + 1
                except EventError:
                    rewritten[key] = None
            size = rewritten[key]
            if size is None:
                costed[position] = written[position] = False
            else:
                sizes[position] = size
    times = (store.column("time", n) if selected is None else store.gather("time", selected))[costed]
    times = times[times != 0]
    written &= costed
    weights = sizes[written]
    resource = _resource_keys(store, rows[written])
    return CostSummary(
        events=int(costed.sum()),
        written=int(written.sum()),
        bytes=int(weights.sum()),
        unreadable=int((~costed).sum()),
        lower_bound_events=int(lower[written].sum()) + int(unknown.sum()),
        first_ns=int(times.min()) if len(times) else 0,
        last_ns=int(times.max()) if len(times) else 0,
        by_rule=_shares(take(store.column(f"{prefix}rule", n))[written].astype(np.int64), None, weights),
        by_user=_shares(take(store.column("user", n))[written], store.values("user"), weights),
        by_resource=_shares(resource[0], resource[1], weights),
        by_verb=_shares(take(store.column("verb", n))[written], store.values("verb"), weights),
        by_namespace=_shares(take(store.column("ns", n))[written], store.values("ns"), weights),
    )


def _omits_managed_fields(store: EventStore, rows: np.ndarray, prefix: str, asked: np.ndarray) -> np.ndarray:
    """Which rows (of those `asked`) the policy's verdict drops managedFields for: one verdict
    per distinct attributes code, read through a row of it."""
    result = np.zeros(len(rows), bool)
    if not asked.any():
        return result
    attributes = store.column("attr")[rows]
    _, first, inverse = np.unique(attributes[asked], return_index=True, return_inverse=True)
    verdict = store.candidate_verdict if prefix else store.verdict
    picked = rows[np.flatnonzero(asked)[first]]
    omits = np.array([bool(v is not None and v.omit_managed_fields) for v in map(verdict, picked.tolist())], bool)
    result[asked] = omits[inverse.reshape(-1)]
    return result


def _resource_keys(store: EventStore, rows: np.ndarray) -> tuple[np.ndarray, _LazyNames]:
    """(codes, values) of `resource/subresource` ("" for non-resource requests), as CostTally keys:
    a code per (resource, subresource) code pair, named only for the pairs that occur."""
    resources, subresources = store.values("resource"), store.values("subresource")
    width = max(len(subresources), 1)
    pairs = store.column("resource")[rows].astype(np.int64) * width + store.column("subresource")[rows]
    if len(resources) * width > 4 * len(rows) + (1 << 20):  # too many pairs to count directly
        occurring, pairs = np.unique(pairs, return_inverse=True)
        pairs = pairs.reshape(-1)
    else:
        occurring = np.arange(len(resources) * width, dtype=np.int64)
    return pairs, _LazyNames(occurring, resources, subresources, width)


class _LazyNames:
    """`resource/subresource` of a pair code, made only when `_shares` asks for it (a list of
    every possible pair could be large)."""

    def __init__(self, occurring: np.ndarray, resources: list[str], subresources: list[str], width: int) -> None:
        self._occurring, self._resources, self._subresources, self._width = occurring, resources, subresources, width

    def __getitem__(self, code: int) -> str:
        resource, subresource = divmod(int(self._occurring[code]), self._width)
        sub = self._subresources[subresource]
        return f"{self._resources[resource]}/{sub}" if sub else self._resources[resource]


def _shares(codes: np.ndarray, values: Sequence[Any] | _LazyNames | None, sizes: np.ndarray) -> Mapping[Any, Share]:
    """{group: Share} of written rows with group `codes` (rule indexes when `values` is None: -1
    for none, UNKNOWN_RULE for a rule a lost field decides, kept as it is); groups whose values are
    equal (a resource `a/b` both ways) are added up."""
    if not len(codes):
        return MappingProxyType({})
    shift = -UNKNOWN_RULE if values is None else 0  # rule codes from UNKNOWN_RULE up start at 0
    counts = np.bincount(codes + shift)
    totals = np.bincount(codes + shift, weights=sizes.astype(np.float64))  # exact below 2**53 bytes
    result: dict[object, list[int]] = {}
    for code in np.flatnonzero(counts).tolist():
        key = (None if code - shift == NO_RULE else code - shift) if values is None else values[code]
        share = result.setdefault(key, [0, 0])
        share[0] += int(counts[code])
        share[1] += int(totals[code])
    return MappingProxyType({key: Share(written, size) for key, (written, size) in result.items()})
