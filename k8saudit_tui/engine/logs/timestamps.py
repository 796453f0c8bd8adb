"""Audit timestamps to int64 nanoseconds and back.

Parsing is vectorised for the one shape every apiserver writes (`2024-05-14T09:00:00.001467Z`);
any other ISO 8601 shape takes a slow path, and an unreadable one is 0 ("no time"), never an error:
a bad timestamp must not cost an event. `format_time` writes the apiserver's shape back.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import numpy as np

_SHAPE = b"0000-00-00T00:00:00.000000Z"
_DIGITS = np.frombuffer(_SHAPE, np.uint8) == ord("0")
_SEPARATORS = np.frombuffer(_SHAPE, np.uint8)
_ASCII_DIGITS = frozenset("0123456789")
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
_MIN_SECONDS = -(2**63) // 1_000_000_000 + 1
_MAX_SECONDS = (2**63 - 1) // 1_000_000_000 - 1
"""Whole seconds whose nanoseconds (plus a fraction) fit int64: about 1677-09-22 to 2262-04-10.
A timestamp outside is unreadable (0), never a wrapped number or an OverflowError."""


def parse_times(stamps: list[str]) -> np.ndarray:
    """RFC 3339 timestamps to int64 nanoseconds since the epoch (0 when missing or unreadable).

    The shape every apiserver writes (`2024-05-14T09:00:00.001467Z`) is parsed vectorised over a
    byte matrix (days from civil date, Hinnant's algorithm); any other shape, an impossible date
    (month 13, February 30) or a time outside the int64 range goes one by one through
    `_slow_time`, the plain implementation the fast path must equal.
    """
    n = len(stamps)
    out = np.zeros(n, np.int64)
    if n == 0:
        return out
    lengths = np.fromiter(map(len, stamps), np.int32, n)
    matrix = _byte_matrix(stamps, lengths)
    if matrix is not None:
        digits = matrix[:, _DIGITS] - np.uint8(48)  # a non-digit wraps above 9
        valid = lengths == 27
        valid &= (digits <= 9).all(axis=1)
        valid &= (matrix[:, ~_DIGITS] == _SEPARATORS[~_DIGITS]).all(axis=1)
        pairs = digits[:, 0::2].astype(np.int32) * 10 + digits[:, 1::2]  # two digits each: yy yy mm dd ...
        year = pairs[:, 0] * 100 + pairs[:, 1]
        month, day, hour, minute, second = pairs[:, 2], pairs[:, 3], pairs[:, 4], pairs[:, 5], pairs[:, 6]
        micros = (pairs[:, 7] * 10_000 + pairs[:, 8] * 100 + pairs[:, 9]).astype(np.int64)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_days = _MONTH_DAYS[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
        valid &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
        valid &= (hour < 24) & (minute < 60) & (second < 60)
        seconds = _days_from_civil(year, month, day).astype(np.int64) * 86400 + (hour * 3600 + minute * 60 + second)
        valid &= (seconds >= _MIN_SECONDS) & (seconds <= _MAX_SECONDS)
        out[valid] = (seconds[valid] * 1_000_000 + micros[valid]) * 1000
        slow = np.flatnonzero(~valid & (lengths > 0))
    else:
        slow = np.flatnonzero(lengths > 0)
    for row in slow.tolist():
        out[row] = _slow_time(stamps[row])
    return out


def _byte_matrix(stamps: list[str], lengths: np.ndarray) -> np.ndarray | None:
    """The stamps as an (n, 27) uint8 matrix (shorter ones zero-padded, longer ones cut: the
    caller checks lengths), or None when one is not ASCII. When all are 27 characters, the usual
    case, they are joined and encoded at once instead of one by one."""
    if bool((lengths == 27).all()):
        joined = "".join(stamps)
        if joined.isascii():
            return np.frombuffer(joined.encode("ascii"), np.uint8).reshape(len(stamps), 27)
    try:
        return np.array(stamps, "S27").view(np.uint8).reshape(len(stamps), 27)
    except (UnicodeEncodeError, ValueError):
        return None


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 for proleptic Gregorian dates, vectorised."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: np.ndarray = era * 146097 + doe - 719468
    return days


def _slow_time(stamp: str) -> int:
    """Any ISO 8601 shape Python accepts; nanosecond digits beyond 6 are kept; 0 when unreadable."""
    text = stamp.strip()
    nanos = 0
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0] in _ASCII_DIGITS:  # str.isdigit() takes "²", which int() refuses
            digits, rest = digits + rest[0], rest[1:]
        nanos = int((digits + "000000000")[:9]) if digits else 0
        text = head + rest
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = calendar.timegm(moment.utctimetuple())
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        return 0
    return seconds * 1_000_000_000 + nanos


def format_time(nanos: int) -> str:
    """int64 nanoseconds back to the RFC 3339 form audit logs use (microseconds, Z)."""
    if nanos == 0:
        return ""
    seconds, rest = divmod(int(nanos), 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"
