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
test per value and a longer substring is found by narrowing the places of its rarest byte, byte
by byte. For the edits, the first fuzzy search indexes the tokens (`_Tokens`); a run within k
edits of w is within k characters of its length and has at most k characters (classes, see
`_CLASS_BIT`) that w lacks and lacks at most k of w's, which numpy checks per token and per run;
only the few runs left are decoded and measured (rapidfuzz OSA, cut off at k).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from k8saudit_tui.engine.query.places import places as _places

_RECENT_NEEDLES = 6
"""How many needles' places a SearchText keeps (a word typed and its prefixes)."""
_CHUNK_BYTES = 1 << 20
"""Values are indexed this many bytes at a time (the per-byte temporaries are 8 bytes a byte)."""


def _class_bits() -> np.ndarray:
    """Byte -> one bit of 64: a-z and 0-9 their own, common separators their own, other ASCII
    shared 18 ways, every byte of a non-ASCII character the last. Sharing only weakens the
    pruning (two characters of one class look alike), never makes it wrong."""
    bits = np.zeros(256, np.uint64)
    own = "abcdefghijklmnopqrstuvwxyz0123456789-.:/_@ =,"
    for byte in range(256):
        char = chr(byte)
        place = own.index(char) if byte < 128 and char in own else 45 + byte % 18 if byte < 128 else 63
        bits[byte] = np.uint64(1) << np.uint64(place)
    return bits


_CLASS_BIT = _class_bits()
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_IS_TOKEN = np.zeros(256, bool)
_IS_TOKEN[[ord(char) for char in _TOKEN_CHARS]] = True
"""Bytes of a token (the text is lower-cased: no A-Z is left in it)."""


def edits_allowed(length: int) -> int:
    """Edits a fuzzy word of `length` characters tolerates: Elasticsearch's `fuzziness: AUTO`."""
    return 0 if length <= 2 else 1 if length <= 5 else 2


def utf8(text: str) -> bytes:
    """The bytes a SearchText holds for `text` (lone surrogates kept, never an error)."""
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class _Tokens:
    """The tokens of a SearchText's values, in text order: token t of value `value[t]` is
    text[start[t]:end[t]] and begins at character `chars[t]` of the text; `mask[t]` is the set of
    its character classes, `gap[t]` that of the characters up to the next token of the same value
    (0 after a value's last). `first[i]` is value i's first token (one more entry than values)."""

    first: np.ndarray
    value: np.ndarray
    start: np.ndarray
    end: np.ndarray
    chars: np.ndarray
    mask: np.ndarray
    gap: np.ndarray

    def after(self, other: _Tokens, text_bytes: int, text_chars: int, values: int) -> _Tokens:
        """These tokens (of values appended to a text) placed after `other`'s."""
        return _Tokens(
            np.concatenate([other.first[:-1], self.first + len(other.value)]),
            np.concatenate([other.value, self.value + values]),
            np.concatenate([other.start, self.start + text_bytes]),
            np.concatenate([other.end, self.end + text_bytes]),
            np.concatenate([other.chars, self.chars + text_chars]),
            np.concatenate([other.mask, self.mask]),
            np.concatenate([other.gap, self.gap]),
        )


@dataclass(frozen=True)
class SearchText:
    """Lower-cased values, each ended by a newline, in one UTF-8 text; immutable, so a filter
    thread and the loader's `prepare` may both extend it (each gets its own, both correct).

    `starts[i]` is where value i begins (`len(starts)` is one more than the values); `ascii[i]`
    has bit b set when value i holds ASCII byte b (two words); `chars[i]` counts its characters.
    The strings OSA measures are decoded from the text when needed (a few hundred, see `fuzzy`)."""

    text: bytes
    starts: np.ndarray
    ascii: np.ndarray
    chars: np.ndarray
    recent: dict[bytes, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    """Where the last few needles start in the text (see `_starts_of`): typing extends a word one
    letter at a time, and the next letter only narrows the last one's places."""
    indexed: dict[str, _Tokens] = field(default_factory=dict, compare=False, repr=False)
    """The token index ("tokens"), built by the first fuzzy search and carried by `extended`:
    ~40 bytes a token, paid only by the columns searched fuzzily (not the URI pieces)."""

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
        indexed: dict[str, _Tokens] = {}
        tokens = self.indexed.get("tokens")
        if tokens is not None:
            text_chars = int(self.chars.sum()) + len(self)  # the newlines too
            indexed["tokens"] = _token_index(added, offsets).after(tokens, len(self.text), text_chars, len(self))
        return SearchText(
            self.text + added,
            np.concatenate([self.starts, self.starts[-1] + offsets[1:]]),
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
        return np.searchsorted(self.starts, positions, side="right") - 1

    def _starts_of(self, needle: bytes, first: int, last: int) -> np.ndarray:
        """Where `needle` starts in text[first:last] (whole values): the places of its rarest
        byte, kept where the other bytes match (`_places`). UTF-8 is self-synchronising, so a byte match is
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
        first, last, owners = self._near_runs(query, edits, begin, end, hits)
        if len(first):
            tokens = self._tokens()
            runs = [
                self.text[start:stop].decode("utf-8", "surrogatepass")
                for start, stop in zip(tokens.start[first].tolist(), tokens.end[last].tolist())
            ]
            distances = process.cdist(
                [query], runs, scorer=OSA.distance, score_cutoff=edits, dtype=np.int32, workers=1
            )[0]
            hits[owners[distances <= edits] - begin] = True
        return hits

    def _near_runs(
        self, query: str, edits: int, begin: int, end: int, hits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The token runs of values[begin:end] not in `hits` that could be within `edits` of
        `query` (first token, last token, value): none of their tokens holds more than `edits`
        classes the query lacks nor is longer than it may be; run by run, grown a token at a
        time while it may still fit, they are long enough, lack at most `edits` of its classes,
        and hold as many separators (characters between tokens) as it, give or take `edits`."""
        tokens = self._tokens()
        low, high = len(query) - edits, len(query) + edits
        wanted = np.bitwise_or.reduce(_CLASS_BIT[np.frombuffer(utf8(query), np.uint8)])
        other = ~wanted
        viable = self._viable(query, edits, begin, end) & ~hits
        candidates = np.flatnonzero(viable) + begin
        if len(candidates) * _SPARSE < end - begin:  # few values may hold a run: their tokens only
            within = _ranges(tokens.first[candidates], tokens.first[candidates + 1])
            near = (tokens.end[within] - tokens.start[within] <= high) & (
                np.bitwise_count(tokens.mask[within] & other) <= edits
            )
            picked = within[near]
        else:
            lo, hi = int(tokens.first[begin]), int(tokens.first[end])
            near = (tokens.end[lo:hi] - tokens.start[lo:hi] <= high) & (
                np.bitwise_count(tokens.mask[lo:hi] & other) <= edits
            )
            picked = np.flatnonzero(near) + lo
            picked = picked[viable[tokens.value[picked] - begin]]
        sizes = tokens.end[picked] - tokens.start[picked]
        follows = np.zeros(len(picked), bool)  # picked[p + 1] is the next token of the same value
        follows[:-1] = (np.diff(picked) == 1) & (np.diff(tokens.value[picked]) == 0)
        spaces = np.zeros(len(picked), np.int64)  # characters between picked[p] and picked[p + 1]
        spaces[:-1] = np.diff(tokens.chars[picked]) - sizes[:-1]
        apart = len(query) - sum(char in _TOKEN_CHARS for char in query)  # the query's separators
        firsts, lasts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        head = tail = np.arange(len(picked))  # runs as places in `picked`
        mask, length, between = tokens.mask[picked], sizes, np.zeros(len(picked), np.int64)
        while len(head):  # a separator of one side that the other lacks costs an edit
            fits = (length >= low) & (between >= apart - edits) & (np.bitwise_count(wanted & ~mask) <= edits)
            firsts.append(picked[head[fits]])
            lasts.append(picked[tail[fits]])
            grown = follows[tail]
            head, tail, mask, length, between = head[grown], tail[grown], mask[grown], length[grown], between[grown]
            between = between + spaces[tail]
            length = length + spaces[tail] + sizes[tail + 1]
            mask = mask | tokens.gap[picked[tail]] | tokens.mask[picked[tail + 1]]
            tail = tail + 1
            grown = (length <= high) & (between <= apart + edits) & (np.bitwise_count(mask & other) <= edits)
            head, tail, mask, length, between = head[grown], tail[grown], mask[grown], length[grown], between[grown]
        first, last = np.concatenate(firsts), np.concatenate(lasts)
        return first, last, tokens.value[first]

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


def _token_index(text: bytes, offsets: np.ndarray) -> _Tokens:
    """The tokens of `text` (value i at offsets[i], each ended by a newline), a chunk of about
    _CHUNK_BYTES at a time: a token never crosses a newline, so chunks end at values' ends."""
    count = len(offsets) - 1
    data = np.frombuffer(text, np.uint8)
    parts: list[tuple[np.ndarray, ...]] = []
    first = chars = 0
    while first < count:
        last = int(np.searchsorted(offsets, offsets[first] + _CHUNK_BYTES, side="right")) - 1
        last = min(count, max(last, first + 1))
        begin, end = int(offsets[first]), int(offsets[last])
        chunk = data[begin:end]
        edges = np.diff(_IS_TOKEN[chunk].astype(np.int8), prepend=np.int8(0), append=np.int8(0))
        start, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        leading = np.concatenate([np.zeros(1, np.int64), np.cumsum((chunk & 0xC0) != 0x80, dtype=np.int64)])
        if len(start):  # token t, then its gap: both never empty, the chunk ends with a newline
            bounds = np.stack([start, stop], axis=1).reshape(-1)
            sets = np.bitwise_or.reduceat(_CLASS_BIT[chunk], bounds)
            value = (np.searchsorted(offsets, start + begin, side="right") - 1).astype(np.int32)
            gap = np.where(np.append(value[1:] == value[:-1], False), sets[1::2], np.uint64(0))
            parts.append((value, start + begin, stop + begin, leading[start] + chars, sets[0::2], gap))
        chars += int(leading[-1])
        first = last
    columns = [np.concatenate(column) for column in zip(*parts)] if parts else _NO_TOKENS
    return _Tokens(np.searchsorted(columns[0], np.arange(count + 1), side="left"), *columns)


_NO_TOKENS: list[np.ndarray] = [
    np.zeros(0, np.int32),
    *(np.zeros(0, np.int64) for _ in range(3)),
    *(np.zeros(0, np.uint64) for _ in range(2)),
]


def fuzzy_hits(query: str, lowered: list[str]) -> np.ndarray:
    """Which of `lowered` (lower-cased values) match `~query`: SearchText.fuzzy over them."""
    return EMPTY.extended(lowered).fuzzy(query)
