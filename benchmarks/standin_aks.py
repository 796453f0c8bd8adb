"""A stand-in AKS reader for `benchmarks/formats.py`, used only while the real `formats/aks.py` is
not in the tree: Azure diagnostic records (`properties.log` is the Event line), with a
`fast_lines`. Importable by worker processes as `benchmarks.standin_aks`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from k8saudit_tui.engine.logs.formats import Damaged, Unwrapped

FAST_FORMAT = "aks-diagnostic"


def recognise(record: dict[str, Any]) -> bool:
    return record.get("category") in ("kube-audit", "kube-audit-admin") and isinstance(record.get("properties"), dict)


def unwrap(record: dict[str, Any], line: int) -> list[Unwrapped | Damaged]:
    log = record["properties"].get("log")
    if not isinstance(log, str):
        return [Damaged(line, "properties.log", "not a string")]
    return [Unwrapped(log.encode(), "aks-diagnostic", line)]


class _Properties(msgspec.Struct):
    log: str


class _Record(msgspec.Struct):
    category: str
    properties: _Properties


_DECODE = msgspec.json.Decoder(_Record).decode


def fast_lines(pieces: list[bytes]) -> list[bytes] | None:
    try:
        return [_DECODE(piece).properties.log.encode() for piece in pieces]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
