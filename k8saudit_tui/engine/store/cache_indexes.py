"""The explorer's filter indexes (`query.prepare`) as one file of a cache entry, and back.

Why: at a million events the indexes `prepare` builds once loaded (URI pieces, request groups,
rows by auditID, facet constants, search texts) cost about 1 CPU-second, four times the reopen
of the store itself; saved beside the store's index they make a reopened explorer fully loaded
at once, and an appended log extends them over its new rows only (they extend themselves).

Contract: `encode(match_cache)` writes the entries whose key starts with one of PERSISTED (values
that follow from the stored columns and dictionaries only, never from a policy), made of numpy
arrays, bytes, str, numbers, plain tuples, dicts and frozen dataclasses of the query package, and
skips any entry holding anything else (a NamedTuple such as RequestAttributes too: none is
persisted, and one would come back a plain tuple without its field names); `decode` gives them
back or raises ValueError (the file is then ignored and `prepare` builds them as without a cache).
No pickle: a value is rebuilt only as one of the query package's dataclasses, by its constructor.
The file names the hash of the query package's code, so indexes built by another version are
never used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

PERSISTED = ("joined", "facets")
"""First elements of the match-cache keys saved (see indexes.py, auditids.py)."""

_PACKAGE = "k8saudit_tui.engine.query."
"""Dataclasses are rebuilt only from this package's modules."""


class _Unsupported(Exception):
    """A value this format cannot write: its entry is left out."""


@cache
def file_name() -> str:
    """`indexes-<hash of the query package's code>.msgpack`."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).resolve().parent.parent / "query"
    for module in sorted(package.rglob("*.py")):
        digest.update(module.name.encode())
        digest.update(module.read_bytes())
    return f"indexes-{digest.hexdigest()}.msgpack"


def _pack(value: Any) -> Any:
    """A msgpack-ready tree of `value`; _Unsupported for what it cannot hold."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Unsupported("object array")
        return {"nd": [value.dtype.str, list(value.shape), np.ascontiguousarray(value).tobytes()]}
    if type(value) is tuple:  # not a NamedTuple (RequestAttributes): it would come back a plain tuple
        return {"t": [_pack(item) for item in value]}
    if isinstance(value, list):
        return {"l": [_pack(item) for item in value]}
    if type(value) is dict:
        return {"d": [[_pack(key), _pack(item)] for key, item in tuple(value.items())]}  # a filter may add
    kind = type(value)
    if dataclasses.is_dataclass(kind) and kind.__module__.startswith(_PACKAGE):
        fields = {field.name: _pack(getattr(value, field.name)) for field in dataclasses.fields(kind) if field.init}
        return {"dc": [kind.__module__, kind.__qualname__, fields]}
    raise _Unsupported(kind.__name__)


def _unpack(tree: Any) -> Any:
    if not isinstance(tree, dict):
        if isinstance(tree, list):
            raise ValueError("a bare list")
        return tree
    if len(tree) != 1:
        raise ValueError("not a packed value")
    ((tag, body),) = tree.items()
    if tag == "nd":
        dtype, shape, data = body
        return np.frombuffer(data, np.dtype(dtype)).reshape(shape).copy()  # writeable, as built
    if tag == "t":
        return tuple(_unpack(item) for item in body)
    if tag == "l":
        return [_unpack(item) for item in body]
    if tag == "d":
        return {_unpack(key): _unpack(item) for key, item in body}
    if tag == "dc":
        module, name, fields = body
        if not isinstance(module, str) or not module.startswith(_PACKAGE) or "." in name:
            raise ValueError(f"class {module}.{name} is not one of the query package's")
        kind = getattr(importlib.import_module(module), name)
        if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
            raise ValueError(f"{module}.{name} is not a dataclass")
        return kind(**{key: _unpack(item) for key, item in fields.items()})
    raise ValueError(f"unknown tag {tag!r}")


def encode(match_cache: dict[tuple[Any, ...], Any]) -> bytes:
    """The persisted entries of a store's match cache, as bytes (see the module docstring)."""
    entries = []
    for key, value in list(match_cache.items()):
        if not key or key[0] not in PERSISTED:
            continue
        try:
            entries.append([_pack(key), _pack(value)])
        except _Unsupported:
            continue
    return msgspec.msgpack.encode(entries)


def decode(data: bytes) -> dict[tuple[Any, ...], Any]:
    """The entries `encode` wrote; ValueError for anything else."""
    try:
        entries = msgspec.msgpack.decode(data)
        decoded = {_unpack(key): _unpack(value) for key, value in entries}
    except (msgspec.DecodeError, TypeError, ValueError, KeyError, AttributeError, ImportError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from None
    if not all(isinstance(key, tuple) and key and key[0] in PERSISTED for key in decoded):
        raise ValueError("an entry the cache does not persist")
    return decoded
