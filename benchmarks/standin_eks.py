"""A stand-in EKS reader for `benchmarks/formats.py`, used only while the real `formats/eks.py` is
not in the tree: CloudWatch `filter-log-events` records (`message` is the Event line), with a
`fast_lines`, as the format-module contract allows. Importable by worker processes (they put the
repository root on sys.path) as `benchmarks.standin_eks`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped

FAST_FORMAT = "cloudwatch"


def recognise(record: dict[str, Any]) -> bool:
    return isinstance(record.get("message"), str) and "timestamp" in record


def unwrap(record: dict[str, Any], line: int) -> list[Unwrapped | Damaged]:
    return [Unwrapped(record["message"].encode(), "cloudwatch", line)]


class _Record(msgspec.Struct):
    timestamp: int
    message: str


_DECODE = msgspec.json.Decoder(_Record).decode


def fast_lines(pieces: list[bytes]) -> list[bytes] | None:
    try:
        return [_DECODE(piece).message.encode() for piece in pieces]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
