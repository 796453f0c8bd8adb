"""YAML documents (`gcloud logging read` prints LogEntries as YAML, `---` between entries) as the
JSON-compatible values every format module takes.

Why not `yaml.safe_load_all`: YAML 1.1 resolves `2024-05-14T09:00:00Z` to a datetime, `on` to
True and `0x10` to an int; a LogEntry is JSON data printed as YAML, so only JSON's scalars are
resolved here (null, true/false, numbers); every other scalar, timestamps included, stays the
string that was written. Each value comes with the 1-based line where its document starts.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class JsonScalarLoader(_Loader):  # type: ignore[misc]
    """A safe loader whose implicit scalars are JSON's: null, booleans, integers and floats."""


JsonScalarLoader.yaml_implicit_resolvers = {}
_DIGITS = list("-0123456789")
_JSON_SCALARS = (
    ("null", r"^(?:~|null|Null|NULL|)$", list("~nN")),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^-?(?:0|[1-9][0-9]*)$", _DIGITS),
    ("float", r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$", _DIGITS),
)
for _tag, _pattern, _first in _JSON_SCALARS:
    JsonScalarLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), _first)


def load_documents(text: str) -> list[tuple[int, Any]]:
    """Every non-empty YAML document of `text` with the 1-based line where it starts.

    Raises `yaml.YAMLError` (with its mark) for text that is not YAML; the caller turns that into
    a Problem naming the file and line.
    """
    loader = JsonScalarLoader(text)
    documents: list[tuple[int, Any]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            value = loader.construct_document(node)
            if value is not None:
                documents.append((node.start_mark.line + 1, value))
    finally:
        loader.dispose()
    return documents
