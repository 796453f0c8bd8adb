"""Substring and fuzzy search over the distinct values of a column, vectorised with numpy.

A filter never looks at a million rows one by one: it decides which of a column's distinct values
match (tens to a hundred thousand), then maps them to rows with one gather (query.py). This
module does the first half fast enough to run on every keystroke. A `SearchText` holds the
lower-cased values as one UTF-8 text plus, per value, its character count and which ASCII
bytes it holds, so that:

- a one-letter word (what everybody types first) is a bit test per value, not a text scan;
- a longer substring is found by narrowing the positions of its first byte, byte by byte;
- rapidfuzz scores only the values that could reach the cutoff (see `fuzzy`), not all of them.

Measured on a 1,000,000-event log (23k names, 80k URI pieces): a Python loop over matches cost
150 ms for one letter and rapidfuzz over every name 20 ms; both are now a few milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

FUZZY_CUTOFF = 80.0
"""rapidfuzz partial_ratio score (0-100) a value needs to match a fuzzy term."""

# partial_ratio aligns the shorter string (m characters) with windows of w <= m characters of
# the longer and scores 2*LCS/(m + w); scores are kept from FUZZY_CUTOFF - 0.5 (see fuzzy_hits).
_FULL_SHARE = (FUZZY_CUTOFF - 0.5) / 100
"""A window as long as the query (w = m) needs LCS >= this share of m."""
_EDGE_SHARE = (FUZZY_CUTOFF - 0.5) / 200
"""A window of w characters needs LCS >= this share of m + w."""
_SHARED_SHARE = (FUZZY_CUTOFF - 0.5) / (200 - (FUZZY_CUTOFF - 0.5))
"""Any window needs LCS >= this share of m (0.66): with LCS <= w, c/100 needs w >= c*m/(200 - c)."""

_EXACT_EDGES = 16
"""Up to this length a query's end windows are checked one width at a time (values x widths
bytes); a longer one (a pasted name) uses one count per end instead."""
_RECENT_NEEDLES = 6
"""How many needles' places a SearchText keeps (a word typed and its prefixes)."""
_CHUNK_BYTES = 1 << 20
"""Values are indexed this many bytes at a time (the per-byte temporaries are 8 bytes a byte)."""


def utf8(text: str) -> bytes:
    """The bytes a SearchText holds for `text` (lone surrogates kept, never an error)."""
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class SearchText:
    """Lower-cased values, each ended by a newline, in one UTF-8 text; immutable, so a filter
    thread and the loader's `prepare` may both extend it (each gets its own, both correct).

    `starts[i]` is where value i begins (`len(starts)` is one more than the values); `ascii[i]`
    has bit b set when value i holds ASCII byte b (two words); `chars[i]` counts its characters.
    The strings rapidfuzz scores are decoded from the text when needed (a few thousand at most,
    see `fuzzy`), not kept: they were 3.4 MB for the 45k names of a 1M-event log."""

    text: bytes
    starts: np.ndarray
    ascii: np.ndarray
    chars: np.ndarray
    recent: dict[bytes, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    """Where the last few needles start in the text (see `_starts_of`): typing extends a word one
    letter at a time, and the next letter only narrows the last one's places."""

    def __len__(self) -> int:
        return len(self.starts) - 1

    def extended(self, values: Sequence[object]) -> SearchText:
        """This text with `values` (any objects, searched as `str(value).lower()`) appended."""
        if not values:
            return self
        lowered = [str(value).lower() for value in values]
        encoded = [utf8(value) for value in lowered]
        lengths = np.fromiter((len(value) + 1 for value in encoded), np.int64, len(encoded))
        added = b"".join(value + b"\n" for value in encoded)
        offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths)])
        ascii_sets, chars = _index(added, offsets)
        return SearchText(
            self.text + added,
            np.concatenate([self.starts, self.starts[-1] + offsets[1:]]),
            np.concatenate([self.ascii, ascii_sets]),
            np.concatenate([self.chars, chars]),
        )

    def containing(self, query: str, begin: int = 0, end: int | None = None) -> np.ndarray:
        """Which of values[begin:end] contain `query` (lower-case already), as a bool array."""
        end = len(self) if end is None else end
        hits = np.zeros(end - begin, bool)
        needle = utf8(query)
        if not needle or b"\n" in needle or end <= begin:
            return hits
        if len(needle) == 1 and needle[0] < 128:
            return self._holding(needle[0], begin, end)
        hits[self._owners(needle, begin, end) - begin] = True
        return hits

    def remember(self, query: str) -> None:
        """Find where `query` (lower-case) starts in the text and keep it in `recent`, so that a
        search for a longer word starting with it only narrows those places."""
        needle = utf8(query)
        if needle and b"\n" not in needle:
            self._starts_of(needle, 0, len(self.text))

    def _owners(self, needle: bytes, begin: int, end: int) -> np.ndarray:
        """Indices of the values in [begin, end) that contain `needle` (no newline in it),
        repeats possible: where it starts, mapped to values by a binary search over `starts`."""
        first, last = int(self.starts[begin]), int(self.starts[end])
        positions = self._starts_of(needle, first, last)
        return np.searchsorted(self.starts, positions, side="right") - 1  # type: ignore[no-any-return]

    def _starts_of(self, needle: bytes, first: int, last: int) -> np.ndarray:
        """Where `needle` starts in text[first:last] (whole values): the places of its first
        byte, kept while each next byte matches. UTF-8 is self-synchronising, so a byte match is
        a character match; the needle has no newline, so a match never runs past a value's end
        (nor past the text's). Over the whole text the search starts from the longest prefix
        whose places are known (`recent`): typing a letter narrows the last word's places."""
        whole = first == 0 and last == len(self.text) > 0  # never fill the shared EMPTY's `recent`
        data = np.frombuffer(self.text, np.uint8, count=last - first, offset=first)
        known = (
            max((key for key in tuple(self.recent) if needle.startswith(key)), key=len, default=b"") if whole else b""
        )
        positions = self.recent.get(known) if known else None
        if positions is None:
            known, positions = needle[:1], np.flatnonzero(data == needle[0])
            if whole:
                self._remember(known, positions)
        for offset in range(len(known), len(needle)):
            positions = positions[data[positions + offset] == needle[offset]]
        if whole:
            self._remember(needle, positions)
        return positions + first  # type: ignore[no-any-return]

    def _remember(self, needle: bytes, positions: np.ndarray) -> None:
        """Keep `needle`'s places as the newest of `recent`, dropping the oldest beyond
        _RECENT_NEEDLES. Filter threads may race here (a cancelled filter runs on): each entry is
        right whoever wrote it, and the keys are read as one snapshot (`tuple`, atomic)."""
        self.recent.pop(needle, None)
        self.recent[needle] = positions
        for oldest in tuple(self.recent)[:-_RECENT_NEEDLES]:
            self.recent.pop(oldest, None)

    def fuzzy(self, query: str, begin: int = 0, end: int | None = None) -> np.ndarray:
        """Which of values[begin:end] contain `query` or score partial_ratio >= FUZZY_CUTOFF
        against it: the same answer as scoring every value, from scoring only those that could
        reach the cutoff (no longer than the query, or with a window that could score)."""
        end = len(self) if end is None else end
        hits = self.containing(query, begin, end)
        if end <= begin:
            return hits
        candidates = self.chars[begin:end] <= len(query)  # can be the shorter side, see _could_score
        candidates |= self._could_score(query, begin, end)
        candidates &= ~hits
        picked = np.flatnonzero(candidates)
        if len(picked):
            hits[picked] = fuzzy_hits(query, self._decoded(picked + begin))
        return hits

    def _decoded(self, indices: np.ndarray) -> list[str]:
        """The lower-cased values at `indices`, from the text."""
        text, bounds = self.text, self.starts
        return [
            text[start:end].decode("utf-8", "surrogatepass")
            for start, end in zip(bounds[indices].tolist(), (bounds[indices + 1] - 1).tolist())
        ]

    def _could_score(self, query: str, begin: int, end: int) -> np.ndarray:
        """Which of values[begin:end] longer than `query` might score the cutoff.

        partial_ratio aligns the shorter string with windows of the longer (both ways when they
        are as long), so here the query (m characters) with windows of the value: every run of m
        characters, and runs of w < m only at its very start or end; a window scores
        2*LCS/(m + w). The characters of a common subsequence sit at distinct places of the
        window and are all in the query, so a full window must hold `_FULL_SHARE` of m of them,
        and an end window of w characters `_EDGE_SHARE` of m + w; when that is all of w (short
        queries), the end window must be a subsequence of the query, checked exactly. Windows
        are counted in bytes, so values with non-ASCII text are always kept, and a non-ASCII
        query character counts as present. Real names are long and hold most letters somewhere;
        in one window, few do."""
        length = len(query)
        absent = sum(ord(char) >= 128 for char in query)
        need_any = math.ceil(_SHARED_SHARE * length - 1e-9) - absent
        if need_any <= 0:
            return np.ones(end - begin, bool)
        starts = self.starts[begin : end + 1]
        result = self.chars[begin:end] != np.diff(starts) - 1  # non-ASCII text
        first, last = int(starts[0]), int(starts[-1])
        data = np.frombuffer(self.text, np.uint8, count=last - first, offset=first)
        wanted = np.zeros(256, np.uint8)
        wanted[[ord(char) for char in set(query) if ord(char) < 128]] = 1
        heads = starts[:-1] - first
        newlines = starts[1:] - first - 1
        need_full = math.ceil(_FULL_SHARE * length - 1e-9) - absent
        long_query = length > _EXACT_EDGES
        if need_full < length or long_query:  # else a full window scores only as a substring hit
            window = _window_counts(np.take(wanted, data), length)
            full = np.flatnonzero(window >= need_full) + first
            result[np.searchsorted(self.starts, full, side="right") - 1 - begin] = True
            if long_query:  # the looser bound at the ends (w x values bytes would be too many)
                tails = np.maximum(heads, newlines - length + 1)
                return result | (window[heads] >= need_any) | (window[tails] >= need_any)  # type: ignore[no-any-return]
        steps = _subsequence_steps(query) if not absent else None
        for width in range(1, length):
            need = math.ceil(_EDGE_SHARE * (length + width) - 1e-9) - absent
            if need > width:
                continue
            spans = np.arange(width)
            for offsets in (heads, np.maximum(heads, newlines - width)):
                window_bytes = data[np.minimum(offsets[:, None] + spans, len(data) - 1)]
                if steps is not None and need == width:
                    result |= _is_subsequence(window_bytes, steps)
                else:
                    result |= np.take(wanted, window_bytes).sum(axis=1) >= need
        return result

    def _holding(self, byte: int, begin: int, end: int) -> np.ndarray:
        """Which of values[begin:end] hold ASCII byte `byte`."""
        return holding(self.ascii[begin:end], byte)


def holding(byte_sets: np.ndarray, byte: int) -> np.ndarray:
    """Which of `byte_sets` (ASCII byte sets as SearchText.ascii keeps them) hold `byte`."""
    bit = np.uint64(1) << np.uint64(byte & 63)
    return (byte_sets[:, byte >> 6] & bit) != 0  # type: ignore[no-any-return]


EMPTY = SearchText(b"", np.zeros(1, np.int64), np.zeros((0, 2), np.uint64), np.zeros(0, np.int32))


def _index(text: bytes, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per value of `text` (value i at offsets[i], each ended by a newline): its ASCII byte set
    (two uint64 words) and its character count, a chunk of about _CHUNK_BYTES at a time."""
    count = len(offsets) - 1
    ascii_sets = np.zeros((count, 2), np.uint64)
    chars = np.zeros(count, np.int32)
    data = np.frombuffer(text, np.uint8)
    first = 0
    while first < count:
        last = int(np.searchsorted(offsets, offsets[first] + _CHUNK_BYTES, side="right")) - 1
        last = min(count, max(last, first + 1))
        begin, end = int(offsets[first]), int(offsets[last])
        chunk = data[begin:end]
        starts = offsets[first:last] - begin
        shifts = (chunk & 63).astype(np.uint64)
        for word in (0, 1):
            bits = np.where(chunk >> 6 == word, np.left_shift(np.uint64(1), shifts), np.uint64(0))
            ascii_sets[first:last, word] = np.bitwise_or.reduceat(bits, starts)
        leading = ((chunk & 0xC0) != 0x80).astype(np.int32)  # not a UTF-8 continuation byte
        chars[first:last] = np.add.reduceat(leading, starts) - 1  # less the newline
        first = last
    return ascii_sets, chars


def _window_counts(marked: np.ndarray, length: int) -> np.ndarray:
    """counts[p] = marked[p : p + length].sum() for every p (cut short at the end)."""
    if length <= _EXACT_EDGES:  # uint8 sums: a few passes beat a cumulative sum
        counts = marked.copy()
        for offset in range(1, min(length, len(marked))):
            counts[:-offset] += marked[offset:]
        return counts
    total = np.concatenate([np.zeros(1, np.int32), np.cumsum(marked, dtype=np.int32)])
    return total[np.minimum(np.arange(len(marked)) + length, len(marked))] - total[:-1]  # type: ignore[no-any-return]


def _subsequence_steps(query: str) -> np.ndarray:
    """The automaton that reads bytes and stays alive while they are a subsequence of the
    (ASCII) query: steps[state, byte] is the state after `byte`; state len(query) + 1 is dead."""
    length = len(query)
    dead = length + 1
    steps = np.full((length + 2, 256), dead, np.int16)
    for state in range(length + 1):
        for place in range(length - 1, state - 1, -1):  # the nearest occurrence wins
            steps[state, ord(query[place])] = place + 1
    return steps


def _is_subsequence(window_bytes: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Per row of `window_bytes` (values x width), whether it is a subsequence of the query."""
    state = np.zeros(len(window_bytes), np.int16)
    for column in range(window_bytes.shape[1]):
        state = steps[state, window_bytes[:, column]]
    return state < len(steps) - 1  # type: ignore[no-any-return]


def fuzzy_hits(query: str, lowered: list[str]) -> np.ndarray:
    """uint8 partial_ratio >= FUZZY_CUTOFF per value. With score_cutoff rapidfuzz gives up on a
    value as soon as it cannot reach the cutoff (its score comes back as 0), which about halves
    the time; the cutoff is half a point lower so that a score that converts to FUZZY_CUTOFF in
    uint8 is never cut: the same hits as scoring everything."""
    if not lowered:
        return np.zeros(0, bool)
    scores = process.cdist(
        [query], lowered, scorer=fuzz.partial_ratio, dtype=np.uint8, workers=1, score_cutoff=FUZZY_CUTOFF - 0.5
    )[0]
    return scores >= FUZZY_CUTOFF  # type: ignore[no-any-return]
