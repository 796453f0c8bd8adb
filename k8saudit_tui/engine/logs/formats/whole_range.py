"""A range of one-record-per-line envelopes unwrapped without cutting it into lines.

Why: a 1M-event CloudWatch file spent 40% of its load in unwrapping, and half of that was not the
envelopes' decoding but the range's bytes copied line by line: split into lines, decoded one call
a line, each message encoded, joined to check for newlines, joined again as a block, joined again
for the parser. Here the envelopes of ~1 MB blocks are decoded in one call each (`decode_lines`,
no line copied), and each block's messages checked as text in C-level passes and encoded one by
one right after its decoding, while they are in the cache (measured in-process at 1M CloudWatch
events: unwrapping 2.1 us an event against 3.3, unwrapping and parsing 8.0 against 9.1).

Contract: `whole_range(data, final, modules, listed)` returns the Chunk `reader.unwrap_data(data,
final, "lines", ..., listed)` returns (its `events` one by one: the same bytes once joined) when
the range is the common case of a provider's file: every line of the range is one record that one
fast module's `fast_range` reads as one apiserver-shaped Event line (its `FAST_RANGE_FORMAT`), and
every module the line path would offer a block first has a `fast_range` that declines it; else None, and
`unwrap_data` reads the range as before, line by line. A provider's `fast_range(data, start,
stop)` gives the message of each complete line [start, stop) of `data` when each is one record
of the shape its `fast_events` reads one a line (the texts it hands `cloudtext.fast_texts`) that
the fast modules before it in the registry's order would not take (aks.py's holds no key eks.py
looks at), else None; the texts are then held to `fast_texts`' simple case here, a block at a time: a
newline ending every one of the block cut (AKS writes the Event with its own), all
apiserver-shaped, no other line break.

Why a block is read one record a line without splitting it (`objects_per_line`): every line starts
with `{` and ends with `}` (every newline inside the block is in `}\\n{`: no CR, no blank line, no
BOM, no spaces), so no JSON value spans two lines (inside a container, a `}` is followed by `,`,
`]` or `}`, and a string cannot hold a raw newline); each line holds one value or more, so as many
values as lines means exactly one a line, decoded from that line's bytes as the line path decodes
it alone. A CR is not looked for: one ending a line fails the `}` before its newline, and one
inside a line is JSON whitespace, read alike whole or alone (the line path strips only the CR
that ends a line).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import repeat
from types import ModuleType
from typing import Any

import msgspec

from k8saudit_tui.engine.logs.formats import BY_NAME
from k8saudit_tui.engine.logs.formats.cloudtext import apiserver_texts
from k8saudit_tui.engine.logs.formats.unwrapper import Chunk

BLOCK_BYTES = 1 << 20
"""About how many bytes of envelopes are decoded in one call (a block ends after a newline)."""


def whole_range(data: bytes, final: bool, modules: Sequence[ModuleType], listed: bool = False) -> Chunk | None:
    """The chunk of the range `data` when every line is one record of the `fast_range` of a fast
    module that the ones before it decline (see the module doc), else None; with `listed`, its
    `pieces` too."""
    if not data or not (final or data.endswith(b"\n")):
        return None
    stop = _block_end(data, 0)
    for module in modules:  # in the order the line path offers a block
        if not hasattr(module, "fast_range"):
            return None  # it might take the block: the line path asks it
        texts = module.fast_range(data, 0, stop)
        if texts is not None:
            break
    else:
        return None
    events: list[bytes] = []
    while True:  # each block's texts judged and encoded while they are in the cache (see _events)
        if texts is None or not _events(texts, events):
            return None
        if stop == len(data):
            break
        start, stop = stop, _block_end(data, stop)
        texts = module.fast_range(data, start, stop)
    count = len(events)
    code = BY_NAME[module.FAST_RANGE_FORMAT].code
    numbers = array("i", range(1, count + 1))
    return Chunk(count, events, numbers, array("B", bytes([code]) * count), pieces=events if listed else None)


def _block_end(data: bytes, start: int) -> int:
    """Where the block of `data` from `start` ends: after the first newline BLOCK_BYTES on, or at
    the end."""
    stop = data.find(b"\n", start + BLOCK_BYTES)
    return len(data) if stop < 0 else stop + 1


def _events(texts: list[str], events: list[bytes]) -> bool:
    """Append the Events of one block's `texts` to `events` when they are all `fast_texts`'
    simple case (see the module doc); else False.

    Why a block at a time, right after its decoding, and line breaks looked for in the block's
    texts joined (two C-level searches, not two calls a text): measured over 1M CloudWatch
    events, the checks and encoding of a whole range's texts cost 0.72 us an event (the texts
    read back from memory, six calls each), these 0.36-0.40."""
    if texts and all(map(str.endswith, texts, repeat("\n"))):
        texts = list(map(str.removesuffix, texts, repeat("\n")))  # AKS logs end so: `fast_texts` cuts it too
    joined = "".join(texts)
    if "\n" in joined or "\r" in joined:
        return False  # a message with a line break of its own: the line path makes it one line
    if not apiserver_texts(texts):
        return False  # another writer's Events, klog text, a cut message: the line path words them
    try:
        events.extend(map(str.encode, texts))
    except UnicodeEncodeError:  # a lone surrogate (`\\ud800`): the line path says where
        return False
    return True


def objects_per_line(data: bytes, start: int, stop: int, decoder: msgspec.json.Decoder[Any]) -> list[Any] | None:
    """The values of the complete lines [start, stop) of `data` decoded by `decoder`, one a line,
    in one call; None unless every line starts with `{` and ends with `}` and holds exactly one
    value the decoder accepts (see the module doc).

    Why the newlines are found by `bytes.find` (memchr), one call a line: measured in the worker
    at 1M CloudWatch events, it cost 0.33-0.36 us an event as numpy's `flatnonzero` did
    (`bytes.count` reads ~1.6 GB/s), without a megabyte-sized array per block. It is one more
    pass over the envelope's bytes, which no call of Python's fuses with the decoding: the cost
    of an exact answer (without it, 1M CloudWatch events loaded ~0.4 CPU-s faster)."""
    if stop <= start:
        return None
    last = stop - 1 if data[stop - 1] == _NEWLINE else stop  # where the last line's newline is, or its end
    if data[start] != _OPEN or data[last - 1] != _CLOSE:
        return None
    lines, find, at = 1, data.find, data.find(b"\n", start, last)
    while at >= 0:  # each newline inside the block: `}` before, `{` after (memchr: one pass)
        if data[at - 1] != _CLOSE or data[at + 1] != _OPEN:
            return None
        lines += 1
        at = find(b"\n", at + 1, last)
    try:
        values: list[Any] = decoder.decode_lines(memoryview(data)[start:stop])
    except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError
        return None
    return values if len(values) == lines else None


_NEWLINE, _OPEN, _CLOSE = ord("\n"), ord("{"), ord("}")
