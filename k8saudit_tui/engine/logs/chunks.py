"""Joining many small byte pieces into large writes (export files, the commands' stdout).

A module of its own so the streaming commands can use it without importing numpy and the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def in_blocks(pieces: Iterable[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """Join small pieces into blocks of about `size` bytes: one write per block, not per line."""
    block: list[bytes] = []
    total = 0
    for piece in pieces:
        block.append(piece)
        total += len(piece)
        if total >= size:
            yield b"".join(block)
            block, total = [], 0
    if block:
        yield b"".join(block)
