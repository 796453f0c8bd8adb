"""Substring and fuzzy search over the distinct values of a column, vectorised with numpy.

A filter never looks at a million rows one by one: it decides which of a column's distinct values
match (tens to a hundred thousand), then maps them to rows with one gather (query.py). This
module does the first half fast enough to run on every keystroke.

What `~w` means (the contract; a responder must be able to act on the answer): a value matches
when the lower-cased w is a substring of the lower-cased value, or when some run of whole tokens
of the value is within k edits of w. Tokens are the maximal runs of ASCII letters and digits; a
run is consecutive tokens with what lies between them (`kube-system`); k follows Elasticsearch's
`fuzziness: AUTO` on the length of w (`edits_allowed`); edits are optimal string alignment
(insert, delete, substitute, swap two neighbours). Whole tokens, so `secret` never finds `get`
nor `alice` the `slice` of `endpointslice-controller`; a typo in a word still finds it.

How it stays fast: a `SearchText` holds the lower-cased values as one UTF-8 text plus, per
value, its character count and which ASCII bytes it holds, so that a one-letter word is a bit
test per value and a longer substring is found from the places of its rarest pair of bytes
(`places.py`), narrowed byte by byte as the word grows. For the edits, the first fuzzy search
indexes the tokens (`tokens.py`); a run within k edits of w is within k characters of its length
and has at most k characters (classes, see `_CLASS_BIT`) that w lacks and lacks at most k of w's,
which numpy checks per token and per run; only the few runs left are decoded and measured
(rapidfuzz OSA, cut off at k).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from k8saudit_tui.engine.query import nearby
from k8saudit_tui.engine.query.distinct import distinct_runs
from k8saudit_tui.engine.query.places import places as _places
from k8saudit_tui.engine.query.tokens import CLASS_BIT as _CLASS_BIT
from k8saudit_tui.engine.query.tokens import TOKEN_CHARS as _TOKEN_CHARS
from k8saudit_tui.engine.query.tokens import Tokens as _Tokens
from k8saudit_tui.engine.query.tokens import characters as _characters
from k8saudit_tui.engine.query.tokens import positions as _narrow_positions
from k8saudit_tui.engine.query.tokens import token_index

_RECENT_NEEDLES = 6
"""How many needles' places a SearchText keeps (a word typed and its prefixes)."""
_CHUNK_BYTES = 1 << 20
"""Values are indexed this many bytes at a time (the per-byte temporaries are 8 bytes a byte)."""


def edits_allowed(length: int) -> int:
    """Edits a fuzzy word of `length` characters tolerates: Elasticsearch's `fuzziness: AUTO`."""
    return 0 if length <= 2 else 1 if length <= 5 else 2


def utf8(text: str) -> bytes:
    """The bytes a SearchText holds for `text` (lone surrogates kept, never an error)."""
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class SearchText:
    """Lower-cased values, each ended by a newline, in one UTF-8 text; immutable, so a filter
    thread and the loader's `prepare` may both extend it (each gets its own, both correct).

    `starts[i]` is where value i begins (`len(starts)` is one more than the values; int32 below
    2 GiB of text, `tokens.positions`); `ascii[i]`
    has bit b set when value i holds ASCII byte b (two words); `chars[i]` counts its characters.
    The strings OSA measures are decoded from the text when needed (a few hundred, see `fuzzy`)."""

    text: bytes
    starts: np.ndarray
    ascii: np.ndarray
    chars: np.ndarray
    recent: dict[bytes, np.ndarray] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Where the last few needles start in the text (see `_starts_of`): typing extends a word one
    letter at a time, and the next letter only narrows the last one's places. Not an init field:
    the index cache keeps none of it (cache_indexes.py persists init fields)."""
    indexed: dict[str, _Tokens] = field(default_factory=dict, compare=False, repr=False)
    """The token index ("tokens"), built by the first fuzzy search and carried by `extended`:
    ~19 bytes a token and a few a token text, paid only by the columns searched fuzzily (not the
    URI pieces)."""

    def __len__(self) -> int:
        return len(self.starts) - 1

    def extended(self, values: Sequence[object]) -> SearchText:
        """This text with `values` (any objects, searched as `str(value).lower()`) appended."""
        return self.extended_text(*joined(values)) if values else self

    def extended_text(self, added: bytes, offsets: np.ndarray) -> SearchText:
        """This text with the values of `added` (`joined`: value i at offsets[i]) appended."""
        if len(offsets) < 2:
            return self
        ascii_sets, chars = _index(added, offsets)
        indexed: dict[str, _Tokens] = {}
        tokens = self.indexed.get("tokens")
        if tokens is not None:
            indexed["tokens"] = _token_index(added, offsets).after(tokens, len(self.text), len(self))
        return SearchText(
            self.text + added,
            _narrow_positions(
                np.concatenate([self.starts, int(self.starts[-1]) + offsets[1:]]), len(self.text) + len(added)
            ),
            np.concatenate([self.ascii, ascii_sets]),
            np.concatenate([self.chars, chars]),
            indexed=indexed,
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
        # in the dtype of `starts` (int32 below 2 GiB of text): else searchsorted converts all of it
        return np.searchsorted(self.starts, positions.astype(self.starts.dtype, copy=False), side="right") - 1

    def _starts_of(self, needle: bytes, first: int, last: int) -> np.ndarray:
        """Where `needle` starts in text[first:last] (whole values): the places of its rarest
        pair of bytes, kept where the other bytes match (`_places`). UTF-8 is self-synchronising, so a byte match is
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
            known, positions = needle, _places(data, needle)
        for offset in range(len(known), len(needle)):
            positions = positions[data[positions + offset] == needle[offset]]
        if whole:
            self._remember(needle, positions)
        return positions + first

    def _remember(self, needle: bytes, positions: np.ndarray) -> None:
        """Keep `needle`'s places as the newest of `recent`, dropping the oldest beyond
        _RECENT_NEEDLES. Filter threads may race here (a cancelled filter runs on): each entry is
        right whoever wrote it, and the keys are read as one snapshot (`tuple`, atomic)."""
        self.recent.pop(needle, None)
        self.recent[needle] = positions
        for oldest in tuple(self.recent)[:-_RECENT_NEEDLES]:
            self.recent.pop(oldest, None)

    def fuzzy(self, query: str, begin: int = 0, end: int | None = None) -> np.ndarray:
        """Which of values[begin:end] match `~query` (see the module's docstring), as a bool
        array: the substring hits, then the values with a token run within the allowed edits."""
        query = query.lower()
        end = len(self) if end is None else end
        if "\n" in query:  # the text's separator: no place search, but the definition holds
            hits = np.fromiter((query in value for value in self._decoded(np.arange(begin, end))), bool, end - begin)
        else:
            hits = self.containing(query, begin, end)
        edits = edits_allowed(len(query))
        if edits == 0 or end <= begin:  # zero edits: a run equal to the query is a substring
            return hits
        first, last, owners, matched = self._near_runs(query, edits, begin, end, hits)
        hits[matched - begin] = True
        if len(first):
            tokens = self._tokens()
            starts, stops = tokens.start[first], tokens.end[last]
            kept, same_as = distinct_runs(self.text, starts, stops)
            runs = [
                self.text[start:stop].decode("utf-8", "surrogatepass")
                for start, stop in zip(starts[kept].tolist(), stops[kept].tolist())
            ]
            distances = process.cdist(
                [query], runs, scorer=OSA.distance, score_cutoff=edits, dtype=np.int32, workers=1
            )[0]
            hits[owners[distances[same_as] <= edits] - begin] = True
        return hits

    def _near_runs(
        self, query: str, edits: int, begin: int, end: int, hits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The token runs of values[begin:end] not in `hits` that could be within `edits` of
        `query` (first token, last token, value), and the values already matched by a token
        alone: none of their tokens holds more than `edits` classes the query lacks nor is
        longer than it may be; run by run, grown a token at a time while it may still fit, they
        are long enough, lack at most `edits` of its classes, and hold as many separators
        (characters between tokens) as it, give or take `edits`. With many viable values, a
        token alone is decided per text (`nearby.single_hits`) and runs grow from pairs only."""
        tokens = self._tokens()
        low, high = len(query) - edits, len(query) + edits
        wanted = np.bitwise_or.reduce(_CLASS_BIT[np.frombuffer(utf8(query), np.uint8)])
        other = ~wanted
        apart = len(query) - sum(char in _TOKEN_CHARS for char in query)  # the query's separators
        viable = self._viable(query, edits, begin, end) & ~hits
        candidates = np.flatnonzero(viable) + begin
        matched, singles = np.zeros(0, np.int64), True
        if len(candidates) * _SPARSE < end - begin:  # few values may hold a run: their tokens only
            within = _ranges(tokens.first[candidates], tokens.first[candidates + 1])
            near = (tokens.size[within] <= high) & (np.bitwise_count(tokens.mask(within) & other) <= edits)
            picked = within[near]
            picked = picked[nearby.may_fit(tokens, picked, wanted, low, high, edits)]
        else:  # each token text decided once alone; the values' viability read for pairs only
            span = int(tokens.first[begin]), int(tokens.first[end])
            near_text = nearby.near_texts(tokens, wanted, high, edits)
            matched = nearby.single_hits(query, self.text, tokens, near_text, span, (wanted, edits, apart))
            picked = nearby.paired(tokens, near_text, span, high)
            picked, singles = picked[viable[tokens.value[picked] - begin]], False
        if high < 255:  # the capped bytes are exact for every token and space a run may hold
            sizes = tokens.size[picked].astype(np.int64)
            spaces = tokens.space[picked].astype(np.int64)  # characters from picked[p] to the next
        else:
            sizes = tokens.end[picked] - tokens.start[picked]
            spaces = np.zeros(len(picked), np.int64)
            at = _characters(self.text, tokens.start[picked])
            spaces[:-1] = np.where(tokens.space[picked[:-1]] > 0, np.diff(at) - sizes[:-1], 0)
        follows = np.zeros(len(picked), bool)  # picked[p + 1] is the next token of the same value
        follows[:-1] = (np.diff(picked) == 1) & (spaces[:-1] > 0)
        firsts, lasts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        head = tail = np.arange(len(picked))  # runs as places in `picked`
        mask, length, between = tokens.mask(picked), sizes, np.zeros(len(picked), np.int64)
        while len(head):  # a separator of one side that the other lacks costs an edit
            fits = (length >= low) & (between >= apart - edits) & (np.bitwise_count(wanted & ~mask) <= edits)
            fits &= singles  # a run of one token was decided already (`matched`) unless `singles`
            singles = True  # the next runs have two tokens or more
            firsts.append(picked[head[fits]])
            lasts.append(picked[tail[fits]])
            grown = follows[tail]
            head, tail, mask, length, between = head[grown], tail[grown], mask[grown], length[grown], between[grown]
            between = between + spaces[tail]
            length = length + spaces[tail] + sizes[tail + 1]
            mask = mask | tokens.gap(picked[tail]) | tokens.mask(picked[tail + 1])
            tail = tail + 1
            grown = (length <= high) & (between <= apart + edits) & (np.bitwise_count(mask & other) <= edits)
            head, tail, mask, length, between = head[grown], tail[grown], mask[grown], length[grown], between[grown]
        first, last = np.concatenate(firsts), np.concatenate(lasts)
        return first, last, tokens.value[first], tokens.value[matched]

    def _viable(self, query: str, edits: int, begin: int, end: int) -> np.ndarray:
        """Which of values[begin:end] may hold a run within `edits` of `query`: a query position
        whose character the run lacks costs an edit (a swap fixes none), so a value lacking more
        than `edits` of the query's distinct ASCII characters, or shorter than len(query) - edits,
        has none. A test per value (430k names at 10M events) spares most of the 2M tokens."""
        wanted = np.zeros(2, np.uint64)
        for byte in {ord(char) for char in query if char < "\x80"}:
            wanted[byte >> 6] |= np.uint64(1) << np.uint64(byte & 63)
        sets = self.ascii[begin:end]
        lacking = np.bitwise_count(~sets[:, 0] & wanted[0]) + np.bitwise_count(~sets[:, 1] & wanted[1])
        viable: np.ndarray = (lacking <= edits) & (self.chars[begin:end] >= len(query) - edits)
        return viable

    def index_tokens(self) -> None:
        """Build the token index the edits need now (`prepare`), not on the first fuzzy search:
        17-28 ms per column at 1M events, which a first keystroke would otherwise pay."""
        self._tokens()

    def _tokens(self) -> _Tokens:
        """The token index of the whole text, built on first use and kept (never for EMPTY,
        which every SearchText starts from: extending it would index every column)."""
        tokens = self.indexed.get("tokens")
        if tokens is None:
            tokens = _token_index(self.text, self.starts)
            if len(self):
                self.indexed["tokens"] = tokens
        return tokens

    def _decoded(self, indices: np.ndarray) -> list[str]:
        """The lower-cased values at `indices`, from the text."""
        text, bounds = self.text, self.starts
        return [
            text[start:end].decode("utf-8", "surrogatepass")
            for start, end in zip(bounds[indices].tolist(), (bounds[indices + 1] - 1).tolist())
        ]

    def _holding(self, byte: int, begin: int, end: int) -> np.ndarray:
        """Which of values[begin:end] hold ASCII byte `byte`."""
        return holding(self.ascii[begin:end], byte)


def joined(values: Sequence[object]) -> tuple[bytes, np.ndarray]:
    """The text a SearchText holds of `values` (each `str(value).lower()` ended by a newline) and
    where each begins (int64, one more than the values): for `SearchText.extended_text`.

    Why apart: the strings made on the way (lowered, encoded) all die here, before the caller
    makes anything it keeps. An object kept that was made while they lived sits in the
    interpreter's 1 MiB arenas among them and keeps its arena when they go: building the
    name and URI texts at 1M events left 4 MB of arenas held by a few such objects."""
    offsets = np.zeros(len(values) + 1, np.int64)  # made before the strings, as the text is after
    encoded = [utf8(str(value).lower()) for value in values]
    np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)) + 1, out=offsets[1:])
    text = b"\n".join(encoded) + b"\n" if encoded else b""
    del encoded
    return text, offsets


def _token_index(text: bytes, offsets: np.ndarray) -> _Tokens:
    """The token index of `text` (tokens.py), _CHUNK_BYTES at a time."""
    return token_index(text, offsets, _CHUNK_BYTES)


_SPARSE = 8
"""When under 1/_SPARSE of the values may hold a near run, only their tokens are read."""


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The integers of [starts[i], stops[i]) for each i, in order, as one array."""
    lengths = stops - starts
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths  # where each range begins in the result
    ranges: np.ndarray = np.repeat(starts.astype(np.int64) - offsets, lengths) + np.arange(total, dtype=np.int64)
    return ranges


def holding(byte_sets: np.ndarray, byte: int) -> np.ndarray:
    """Which of `byte_sets` (ASCII byte sets as SearchText.ascii keeps them) hold `byte`."""
    bit = np.uint64(1) << np.uint64(byte & 63)
    return (byte_sets[:, byte >> 6] & bit) != 0  # type: ignore[no-any-return]


EMPTY = SearchText(b"", np.zeros(1, np.int32), np.zeros((0, 2), np.uint64), np.zeros(0, np.int32))


def _index(text: bytes, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per value of `text` (value i at offsets[i], each ended by a newline): its ASCII byte set
    (two uint64 words) and its character count, a chunk of about _CHUNK_BYTES at a time."""
    count = len(offsets) - 1
    ascii_sets = np.zeros((count, 2), np.uint64)
    chars = np.zeros(count, np.int32)
    data = np.frombuffer(text, np.uint8)
    first = 0
    while first < count:
        last = int(np.searchsorted(offsets, int(offsets[first]) + _CHUNK_BYTES, side="right")) - 1
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


def fuzzy_hits(query: str, lowered: list[str]) -> np.ndarray:
    """Which of `lowered` (lower-cased values) match `~query`: SearchText.fuzzy over them."""
    return EMPTY.extended(lowered).fuzzy(query)
