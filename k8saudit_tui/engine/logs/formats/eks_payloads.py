"""CloudWatch Logs subscription payloads that arrive still encoded: a Lambda event
(`{"awslogs": {"data": BASE64}}`) and a Firehose transformation batch
(`{"records": [{"recordId", "data": BASE64}, ...]}`); each `data` is base64 of gzip of one or more
subscription payloads (`{"messageType": "DATA_MESSAGE", "logEvents": [...]}`), JSON values that
may follow each other without a separator.

Contract: `decoded_payloads(data)` gives the JSON values inside one `data` string, or a
reason (str) why it cannot be read; it never raises. Gzip output is capped (`MAX_DECODED_BYTES`)
so a small hostile record cannot fill memory. Why here and not in the reader: the base64 and gzip
are inside one JSON record, below the level where the reader splits a file into records.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

import orjson

GZIP_MAGIC = b"\x1f\x8b"
MAX_DECODED_BYTES = 256 << 20
"""A Lambda payload is at most 6 MB of gzip; 256 MiB of JSON out of one record is a gzip bomb."""


def decoded_payloads(data: object) -> list[object] | str:
    """The JSON values base64(+gzip) `data` holds, or why it cannot be read (a short reason)."""
    if not isinstance(data, str):
        return "not a base64 string"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        return f"not base64: {error}"
    if raw[:2] == GZIP_MAGIC:
        inflated = _gunzip(raw)
        if isinstance(inflated, str):
            return inflated
        raw = inflated
    return _json_values(raw)


def _gunzip(raw: bytes) -> bytes | str:
    """Every gzip member of `raw`, concatenated, or why not (cut short, corrupt, too big)."""
    parts: list[bytes] = []
    size = 0
    while raw:
        inflater = zlib.decompressobj(wbits=31)
        try:
            part = inflater.decompress(raw, MAX_DECODED_BYTES - size + 1)
        except zlib.error as error:
            return f"not valid gzip: {error}"
        size += len(part)
        if size > MAX_DECODED_BYTES or inflater.unconsumed_tail:
            return f"decompresses to more than {MAX_DECODED_BYTES >> 20} MiB: refused"
        if not inflater.eof:
            return "gzip data cut short"
        parts.append(part)
        raw = inflater.unused_data
        if raw[:2] != GZIP_MAGIC:
            if raw.strip(b"\x00 \n"):
                return "bytes after the gzip data that are not gzip"
            break
    return b"".join(parts)


def _json_values(raw: bytes) -> list[object] | str:
    """One JSON value, or several back to back (Firehose joins payloads with no separator)."""
    try:
        return [orjson.loads(raw)]
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"decoded data is not UTF-8 (byte {error.start})"
    values: list[object] = []
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            break
        try:
            _, end = decoder.raw_decode(text, position)
            values.append(orjson.loads(text[position:end]))  # orjson's stricter rules for the value
        except (ValueError, RecursionError) as error:
            return f"decoded data is not JSON: {error}"
        position = end
    return values if values else "decoded data is empty"
