"""Names every module of the generator shares: stages, the Kubernetes version, hostile strings.

Plain constants, so that any module can import them without importing the generator.
"""

from __future__ import annotations

RR, RS, RC, PANIC = "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"
K8S = "v1.31.4 (linux/amd64) kubernetes/a78aa47"
SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of generated Kubernetes name suffixes

# Hostile strings: every one must survive as JSON and be shown literally by the UI.

HOSTILE_TEXT: tuple[str, ...] = (
    "[b]root[/b]",
    "[/]",
    "[link=https://x]y[/link]",
    "[red]",
    "[bold red on white]PWNED[/bold red on white]",
    "\x1b[31mred\x1b[0m",
    "\x1b[2J\x1b[H",
    "\x1b]0;title\x07",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "nul\x00bel\x07bs\x08cr\rlf\nvt\x0bdel\x7f",
    "c1\x85\x9b31m\x9d0;t\x9c",
    "\u202egnp.exe",
    "ad\u200bmin\u200c\u200d\ufeff",
    "\u7ba1\u7406\u8005-\u65e5\u672c\u8a9e-\ud55c\uad6d\uc5b4",
    "\U0001f525\U0001f480\U0001f47e-\U0001f1fa\U0001f1e6",
    "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd",
    "a\u0301\u0302\u0303\u0304\u0305\u0306\u0307",
    "\\\"quoted\\\" 'single' `back`",
    "%2e%2e%2f%00",
)
"""Markup, ANSI CSI/OSC (incl. OSC 52 clipboard and OSC 8 links), C0/C1, bidi, zero-width, CJK,
emoji, RTL, combining marks, quotes. Never lone surrogates: those are not valid UTF-8 JSON."""

_PATH_UNSAFE = "/?#%"


def _path_safe(text: str) -> str:
    """A hostile string usable as one URL path segment, so the path still parses like the objectRef."""
    return "".join("_" if ch in _PATH_UNSAFE else ch for ch in text) or "_"


HOSTILE_SEGMENTS: tuple[str, ...] = tuple(_path_safe(text) for text in HOSTILE_TEXT)
LONG_USER_AGENT = ("Mozilla/5.0 (" + "A" * 5000)[:4990] + ") evil/1.0"
"""A 5,000-character user agent, for column-width and truncation code."""
