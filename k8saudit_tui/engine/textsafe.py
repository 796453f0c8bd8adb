"""Making untrusted strings safe to put on a terminal: every control character becomes visible.

Audit data is written by whoever sent the request: an escape sequence in a user agent must be shown
as `\\x1b[31m`, never interpreted. The CLI prints through this, and the UI's renderer builds on it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ASCII_CONTROL = re.compile("[\x00-\x1f\x7f]")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls (C0, C1, DEL), format characters (bidi overrides, zero-width, soft hyphen, tags),
surrogates and line/paragraph separators: they move the cursor, reorder text or hide."""


def _escape_char(char: str) -> str:
    code = ord(char)
    if char == "\t":
        return "\\t"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


@lru_cache(maxsize=4096)
def _is_unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control/format character shown as an escape (`\\x1b`, `\\u202e`).

    Tabs and (unless `keep_newlines`) newlines are escaped too, so one value stays on one line.
    """
    if text.isascii():
        if keep_newlines:
            return _ASCII_CONTROL.sub(lambda m: m.group() if m.group() == "\n" else _escape_char(m.group()), text)
        return _ASCII_CONTROL.sub(lambda m: _escape_char(m.group()), text)
    return "".join(
        _escape_char(char) if _is_unsafe(char) and not (keep_newlines and char == "\n") else char for char in text
    )
