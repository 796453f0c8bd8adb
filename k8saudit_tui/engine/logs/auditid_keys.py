"""auditIDs as 17-byte keys: a UUID in 16 bytes, any other ID as a code, exactly either way.

Why: the auditID column was 36 bytes an event (the UUID's text) and the biggest column of the
store. A key is one kind byte and 16 bytes, held in a fixed-width bytes column (`KEY_DTYPE`):

- all zero (b"" once numpy strips the padding): the event has no auditID;
- kind `UUID`: the ID is a canonical UUID, lower-case `8-4-4-4-12` hex, and the 16 bytes are its
  value, so the text is rebuilt exactly (an upper-case UUID is not canonical: it is an *other*);
- kind `OTHER`: any other ID (a proxy's `Audit-ID`, a long or non-ASCII one), whose first 8 bytes
  are the little-endian code of the ID in the store's dictionary of such IDs.

Contract: two rows have equal keys exactly when their auditIDs are equal (within one store, whose
dictionary gives each other ID one code), so grouping by request and `auditid:` compare keys.
`pack` is the vectorised fast path; `plain_key` is the plain implementation it must equal (a
hypothesis test holds them together).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

KEY_WIDTH = 17
KEY_DTYPE = f"S{KEY_WIDTH}"
UUID = 1
"""Kind byte of a key holding a canonical UUID's 16 bytes."""
OTHER = 2
"""Kind byte of a key holding the code of an ID that is not a canonical UUID."""
NO_ID = b""
"""The key of an event without an auditID (every byte zero)."""

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DASHES = (8, 13, 18, 23)
_HEX_PLACES = np.array([i for i in range(36) if i not in _DASHES])
_NIBBLE = np.full(256, 255, np.uint8)
for _value, _char in enumerate(b"0123456789abcdef"):
    _NIBBLE[_char] = _value


def pack(ids: Sequence[str]) -> tuple[np.ndarray, dict[int, str]]:
    """Keys of `ids` with every canonical UUID packed; rows whose ID is another non-empty string
    are left zero and returned as {row: ID}, for the store to code (`with_codes`)."""
    n = len(ids)
    keys = np.zeros(n, KEY_DTYPE)
    if not n:
        return keys, {}
    lengths = np.fromiter(map(len, ids), np.int32, n)
    joined = "".join(ids) if bool((lengths == 36).all()) else ""
    try:
        if joined.isascii() and joined:  # the usual case: every ID 36 ASCII characters, encoded at once
            text = np.frombuffer(joined.encode("ascii"), np.uint8).reshape(n, 36)
        else:
            text = np.array(ids, "S36").view(np.uint8).reshape(n, 36)
    except UnicodeEncodeError:  # a non-ASCII ID somewhere: only the plain way tells them apart
        canonical = np.fromiter((_CANONICAL.fullmatch(i) is not None for i in ids), bool, n)
        text = np.array([i if ok else "" for i, ok in zip(ids, canonical.tolist())], "S36")
        text = text.view(np.uint8).reshape(n, 36)
        nibbles = _NIBBLE[text[:, _HEX_PLACES]]
    else:
        nibbles = _NIBBLE[text[:, _HEX_PLACES]]
        canonical = (lengths == 36) & (nibbles != 255).all(axis=1) & (text[:, _DASHES] == ord("-")).all(axis=1)
    out = keys.view(np.uint8).reshape(n, KEY_WIDTH)
    packed = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    if bool(canonical.all()):  # the usual case: no gather, no other IDs
        out[:, 0] = UUID
        out[:, 1:] = packed
        return keys, {}
    out[canonical, 0] = UUID
    out[canonical, 1:] = packed[canonical]
    others = {row: ids[row] for row in np.flatnonzero(~canonical & (lengths > 0)).tolist()}
    return keys, others


def with_codes(keys: np.ndarray, others: dict[int, str], code: Callable[[str], int]) -> None:
    """Write the OTHER keys of `others` (row -> ID) into `keys`, coded by `code` (the store's
    dictionary of such IDs)."""
    if not others:
        return
    rows = np.fromiter(others, np.int64, len(others))
    codes = np.fromiter(map(code, others.values()), np.uint64, len(others))
    out = keys.view(np.uint8).reshape(len(keys), KEY_WIDTH)
    out[rows] = 0
    out[rows, 0] = OTHER
    out[rows, 1:9] = codes.astype("<u8").view(np.uint8).reshape(len(rows), 8)


def plain_key(audit_id: str, code: Callable[[str], int]) -> bytes:
    """The key of one auditID, the plain way (what `pack` + `with_codes` must give), padded."""
    if not audit_id:
        return bytes(KEY_WIDTH)
    if _CANONICAL.fullmatch(audit_id):
        return bytes([UUID]) + bytes.fromhex(audit_id.replace("-", ""))
    return bytes([OTHER]) + code(audit_id).to_bytes(8, "little") + bytes(8)


def query_key(audit_id: str, code: Callable[[str], int | None]) -> bytes | None:
    """The key an `auditid:` value would have in the store (`code` looks the other IDs up
    without adding them); None when no row can have it (another ID the store never saw)."""
    if audit_id and not _CANONICAL.fullmatch(audit_id):
        known = code(audit_id)
        if known is None:
            return None
        return plain_key(audit_id, lambda _: known)
    return plain_key(audit_id, lambda _: 0)


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)


def uuid_texts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The text of every UUID key at once, as S36 (no Python object per key; "" for the others),
    and which keys are OTHER (their text is the store's: `text`)."""
    n = len(keys)
    raw = np.ascontiguousarray(keys, KEY_DTYPE).view(np.uint8).reshape(n, KEY_WIDTH)
    uuid = raw[:, 0] == UUID
    body = raw[uuid, 1:]
    digits = np.empty((len(body), 32), np.uint8)
    digits[:, 0::2], digits[:, 1::2] = body >> 4, body & 15
    text = np.zeros((n, 36), np.uint8)
    placed = np.full((len(body), 36), ord("-"), np.uint8)
    placed[:, _HEX_PLACES] = _HEX_DIGITS[digits]
    text[uuid] = placed
    return text.view("S36").reshape(n), raw[:, 0] == OTHER


def text(key: bytes, others: Sequence[str]) -> str:
    """The auditID a key stands for (`others`: the store's dictionary of other IDs by code)."""
    key = key.ljust(KEY_WIDTH, b"\0")  # numpy strips the trailing zero bytes of a key
    if key[0] == UUID:
        digits = key[1:].hex()
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    if key[0] == OTHER:
        return others[int.from_bytes(key[1:9], "little")]
    return ""
