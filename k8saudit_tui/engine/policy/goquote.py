"""Go's quoting of strings, so our messages read exactly like kube-apiserver's.

Upstream's `field.Error` texts print bad values with `%q` (one string) or `%#v` (a `[]string`);
messages that a user compares with the apiserver's log, or that a test compares with upstream's
expected errors, must be byte-for-byte the same. Quoting also keeps control characters from a
hostile policy inert: they come out as escapes, never raw. Loader and validation both quote, so
this lives below both of them and imports nothing of the policy package.
"""

from __future__ import annotations

_GO_ESCAPES = {
    "\a": r"\a",
    "\b": r"\b",
    "\f": r"\f",
    "\n": r"\n",
    "\r": r"\r",
    "\t": r"\t",
    "\v": r"\v",
    "\\": r"\\",
    '"': r"\"",
}


def go_quote(text: str) -> str:
    """Quote like Go's `%q`, so messages match upstream and control characters stay inert."""
    out = []
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def go_string_slice(values: tuple[str, ...]) -> str:
    """A `[]string` as Go's `%#v` prints it (upstream's bad value for list fields)."""
    return "[]string{" + ", ".join(go_quote(value) for value in values) + "}"
