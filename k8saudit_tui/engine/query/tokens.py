"""The token index of a SearchText's values (textsearch.py), which its fuzzy search reads.

Contract: `token_index(text, offsets, chunk_bytes)` gives the `Tokens` of a text of values
(value i at offsets[i], each ended by a newline): tokens are the maximal runs of ASCII letters and
digits, in text order, with where each starts and ends, its value, its character classes
(`CLASS_BIT`, kept per token text) and those of the gap after it; the result does not depend on `chunk_bytes`.
`Tokens.after` places the tokens of appended values after a text's own.

`size` and `space` (a byte each, capped at 255) are what the fuzzy search reads of every token
it considers: read from the start/end places, three gathers per token made a third of a bare
word's fuzzy search over 2M name tokens at 10M events.

`ids` number the tokens' texts: two tokens with one id hold the same bytes (`reps[i]` is the
first token with id i), so the fuzzy search measures each text once; at 10M events the 2M name
tokens are 431k texts, and the tokens a word may be near (`0`, `api`, `cache`, ...) a few hundred.
Tokens of appended values get ids of their own (`after`): a text may then have two ids, which
costs a second measure, never a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from k8saudit_tui.engine.query.distinct import distinct_runs


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


CLASS_BIT = _class_bits()
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
IS_TOKEN = np.zeros(256, bool)
IS_TOKEN[[ord(char) for char in TOKEN_CHARS]] = True
"""Bytes of a token (the text is lower-cased: no A-Z is left in it)."""


@dataclass(frozen=True)
class Tokens:
    """The tokens of a SearchText's values, in text order: token t of value `value[t]` is
    text[start[t]:end[t]] (`characters` gives where it begins in characters); `mask([t])` the set of
    its character classes, `gap([t])` that of the characters up to the next token of the same value
    (0 after a value's last). `first[i]` is value i's first token (one more entry than values).
    Places and `first` are int32 unless the text is 2 GiB or more (`positions`)."""

    first: np.ndarray
    value: np.ndarray
    start: np.ndarray
    end: np.ndarray
    space: np.ndarray
    """Characters up to the next token of the same value (uint8, capped at 255; never 0 before
    one, since tokens are maximal runs) or 0 after a value's last token. Kept, where each
    token's character place was (int32, 0.8 bytes an event for the names at 1M events): only
    a word of 253 characters or more needs the exact spaces (`characters`)."""
    text_mask: np.ndarray
    """The character classes of each token text (of `reps`): tokens with one id hold the same
    bytes, so a token's own (`mask`) is its text's; kept per text only (8 bytes a token were
    1.7 bytes an event for the names at 1M events)."""
    gap_table: np.ndarray
    gap_codes: np.ndarray
    """The gaps' class sets, interned (`interned`): a gap is a separator or a few, so a few dozen
    distinct sets at most, and a code of a byte a token instead of 8 (1.7 bytes an event for
    the names at 1M events). `gap(tokens)` gives them back."""
    ids: np.ndarray
    reps: np.ndarray
    size: np.ndarray = field(init=False, compare=False, repr=False)
    """Each token's length (uint8, capped at 255: tokens are ASCII, bytes are characters)."""
    text_size: np.ndarray = field(init=False, compare=False, repr=False)
    """`size` per token text (of `reps`): what the fuzzy search reads of each text, every time."""

    def __post_init__(self) -> None:
        size = np.minimum(self.end - self.start, 255).astype(np.uint8)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "text_size", size[self.reps])

    def mask(self, tokens: np.ndarray) -> np.ndarray:
        """The character classes of each of `tokens` (indices)."""
        masks: np.ndarray = self.text_mask[self.ids[tokens]]
        return masks

    def gap(self, tokens: np.ndarray) -> np.ndarray:
        """The classes of the gap after each of `tokens` (indices; 0 after a value's last)."""
        gaps: np.ndarray = self.gap_table[self.gap_codes[tokens]]
        return gaps

    def after(self, other: Tokens, text_bytes: int, values: int) -> Tokens:
        """These tokens (of values appended to a text) placed after `other`'s."""
        total = text_bytes + int(self.end[-1] if len(self.end) else 0)
        tokens = len(other.value) + len(self.value)

        def joined(mine: np.ndarray, theirs: np.ndarray, shift: int, bound: int) -> np.ndarray:
            return positions(np.concatenate([theirs.astype(np.int64), mine.astype(np.int64) + shift]), bound)

        return Tokens(
            joined(self.first, other.first[:-1], len(other.value), tokens),
            np.concatenate([other.value, self.value + values]),
            joined(self.start, other.start, text_bytes, total),
            joined(self.end, other.end, text_bytes, total),
            np.concatenate([other.space, self.space]),  # 0 after the last token of other's last value
            np.concatenate([other.text_mask, self.text_mask]),
            *interned(np.concatenate([other.gap_table[other.gap_codes], self.gap_table[self.gap_codes]])),
            np.concatenate([other.ids, self.ids + len(other.reps)]),
            np.concatenate([other.reps, self.reps + len(other.value)]),
        )


def token_index(text: bytes, offsets: np.ndarray, chunk_bytes: int) -> Tokens:
    """The tokens of `text` (value i at offsets[i], each ended by a newline), a chunk of about
    chunk_bytes at a time: a token never crosses a newline, so chunks end at values' ends."""
    count = len(offsets) - 1
    data = np.frombuffer(text, np.uint8)
    parts: list[list[np.ndarray]] = [[] for _ in range(6)]  # value, start, stop, leading, mask, gap
    first = chars = 0
    while first < count:
        last = int(np.searchsorted(offsets, int(offsets[first]) + chunk_bytes, side="right")) - 1
        last = min(count, max(last, first + 1))
        begin, end = int(offsets[first]), int(offsets[last])
        chunk = data[begin:end]
        edges = np.diff(IS_TOKEN[chunk].astype(np.int8), prepend=np.int8(0), append=np.int8(0))
        start, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        leading = np.concatenate([np.zeros(1, np.int64), np.cumsum((chunk & 0xC0) != 0x80, dtype=np.int64)])
        if len(start):  # token t, then its gap: both never empty, the chunk ends with a newline
            bounds = np.stack([start, stop], axis=1).reshape(-1)
            sets = np.bitwise_or.reduceat(CLASS_BIT[chunk], bounds)
            value = (np.searchsorted(offsets, start + begin, side="right") - 1).astype(np.int32)
            gap = np.where(np.append(value[1:] == value[:-1], False), sets[1::2], np.uint64(0))
            places = (positions(column, len(text)) for column in (start + begin, stop + begin, leading[start] + chars))
            for column, part in zip(parts, (value, *places, sets[0::2], gap)):
                column.append(part)
        chars += int(leading[-1])
        first = last
    # int32 places, and each column's parts dropped once it is joined: 6M tokens (1M distinct user
    # names) held ~90 bytes a token in int64 parts and their joined copies to the end
    value, start, stop, leading_chars, mask, gap = (_joined(*column) for column in zip(parts, NO_TOKENS))
    del parts
    reps, ids = distinct_runs(text, start, stop)
    first_token = positions(np.searchsorted(value, np.arange(count + 1), side="left"), len(value))
    space = np.zeros(len(value), np.uint8)
    if len(space):
        between = np.diff(leading_chars) - (stop - start)[:-1]
        space[:-1] = np.where(value[1:] == value[:-1], np.clip(between, 1, 255), 0)
    start, stop = (positions(column, len(text)) for column in (start, stop))
    return Tokens(
        first_token,
        value,
        start,
        stop,
        space,
        mask[reps],
        *interned(gap),
        ids.astype(np.int32),
        reps.astype(np.int32),
    )


def _joined(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
    """The parts of one column joined (`empty` for none), the list emptied (so that only the
    joined copy stays)."""
    joined = np.concatenate(parts) if parts else empty
    parts.clear()
    return joined


def token_count(text: bytes, chunk_bytes: int = 1 << 24) -> int:
    """How many tokens `text` holds, counted chunk_bytes at a time (a bool a byte, not the index's
    ~250 bytes a token): what the token index's peak grows with, known before it is built
    (`ahead.prepare` projects it)."""
    data = np.frombuffer(text, np.uint8)
    count, inside = 0, False  # whether the byte before the chunk ends a token's run
    for begin in range(0, len(data), chunk_bytes):
        token = IS_TOKEN[data[begin : begin + chunk_bytes]]
        count += int(np.count_nonzero(token[1:] & ~token[:-1])) + int(bool(token[0]) and not inside)
        inside = bool(token[-1])
    return count


def interned(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(table, codes) with table[codes] == values: the distinct values, and codes as narrow as
    their count allows."""
    table, codes = np.unique(values, return_inverse=True)
    dtype = np.uint8 if len(table) <= 1 << 8 else np.uint16 if len(table) <= 1 << 16 else np.int32
    return table, codes.reshape(-1).astype(dtype)


def characters(text: bytes, places: np.ndarray) -> np.ndarray:
    """Where each of byte `places` of UTF-8 `text` is, in characters (int64): for the rare word
    whose runs need exact spaces, a pass over the whole text."""
    starting = (np.frombuffer(text, np.uint8) & 0xC0) != 0x80  # not a continuation byte
    before = np.concatenate([np.zeros(1, np.int64), np.cumsum(starting, dtype=np.int64)])
    found: np.ndarray = before[places]
    return found


def positions(values: np.ndarray, bound: int) -> np.ndarray:
    """`values` (all in [0, bound]) as int32 when `bound` allows, else int64: token places and
    counts were 20 of the 54 bytes a token (name tokens: 11 bytes an event at 1M events)."""
    return values.astype(np.int32 if bound < 2**31 else np.int64, copy=False)


NO_TOKENS: list[np.ndarray] = [
    np.zeros(0, np.int32),
    *(np.zeros(0, np.int64) for _ in range(3)),
    *(np.zeros(0, np.uint64) for _ in range(2)),
]
