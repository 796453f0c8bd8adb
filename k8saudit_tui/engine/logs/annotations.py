"""An event's annotations as the store keeps them: one code per distinct set of `key=value`.

Why raw: the decoder keeps `annotations` as raw JSON bytes (no per-event strings), and most events
share a handful of combinations (the authorization decision and reason), so decoding each distinct
raw value once per parser stream costs a dict hit per event. Why lenient: annotations decide
nothing the policy sees, so an unreadable one never costs an event (like a bad timestamp).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import numpy as np

from k8saudit_tui.engine.logs.event import NO_ANNOTATIONS

ANNOTATION_VALUE_LIMIT = 256
"""Annotation values up to this many characters are kept whole in the store's annotations column."""

LONG_VALUE = "\u2026"
"""What a longer value is kept as (`key=…`): webhook patches and long reasons are often unique per
event, and one distinct value per event would cost the store a dictionary entry per event; the
key stays filterable (`annotation:KEY`), the value is in the event's JSON."""


def annotation_set(raw: bytes) -> tuple[str, ...]:
    """The annotations of an event (the raw JSON of its `annotations`) as sorted `key=value` strings.

    A value that is not a string is left out, and an `annotations` that is not a JSON object reads
    as none. A value longer than ANNOTATION_VALUE_LIMIT becomes LONG_VALUE. Keys are what comes
    before the first `=` (Kubernetes annotation keys hold none).
    """
    if not raw:
        return ()
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return ()
    if not isinstance(value, dict):
        return ()
    return tuple(
        sorted(
            f"{key}={text if len(text) <= ANNOTATION_VALUE_LIMIT else LONG_VALUE}"
            for key, text in value.items()
            if isinstance(text, str)
        )
    )


def annotation_value(annotations: tuple[str, ...], key: str) -> str:
    """The value of annotation `key` in a set made by `annotation_set`; "" when absent."""
    prefix = key + "="
    for item in annotations:
        if item.startswith(prefix):
            return item[len(prefix) :]
    return ""


class RawAnnotationCodes:
    """raw `annotations` bytes -> code of its `annotation_set` in `sets` (a code dictionary whose
    `encode(items, n)` gives int32 codes, shared with the caller's other columns)."""

    def __init__(self, sets: Any, new_codes: Callable[[], Any]) -> None:
        self.sets = sets
        self.raw = new_codes()
        self.set_of_raw = np.empty(0, np.int32)

    def __len__(self) -> int:
        return len(self.raw.distinct)

    def encode(self, raws: list[msgspec.Raw], n: int) -> np.ndarray:
        """Set codes of `n` raw values (NO_ANNOTATIONS for none)."""
        if raws.count(NO_ANNOTATIONS) == n:
            return np.full(n, self.sets[()], np.int32)
        raw_codes = self.raw.encode(map(bytes, raws), n)
        distinct, have = self.raw.distinct, len(self.set_of_raw)
        if have < len(distinct):
            fresh: Iterable[tuple[str, ...]] = map(annotation_set, distinct[have:])
            self.set_of_raw = np.concatenate([self.set_of_raw, self.sets.encode(fresh, len(distinct) - have)])
        codes: np.ndarray = self.set_of_raw[raw_codes]
        return codes
