"""Small deterministic helpers: timestamps, seeded UUIDs and name suffixes, weighted choice.

Everything random draws from a seeded `random.Random` handed in by the caller, never from global
state, so that the output is a pure function of the generator's arguments. Timestamps take their
shape from the engine (`format_time`, `parse_times`): what the generator writes is what it reads.
"""

from __future__ import annotations

import bisect
import random
from typing import Generic, TypeVar

import orjson

from k8saudit_tui.engine.logs.batch import format_time, parse_times
from k8saudit_tui.sample.vocabulary import SAFE

T = TypeVar("T")


class Clock:
    """`format_time` for microseconds, with the date part cached per second (it is the hot path)."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, micros: int) -> str:
        seconds, fraction = divmod(micros, 1_000_000)
        prefix = self._cache.get(seconds)
        if prefix is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            # + 1 ns: format_time reads 0 as "no time"; the nanosecond does not show
            prefix = format_time(seconds * 1_000_000_000 + 1)[:-8]
            self._cache[seconds] = prefix
        return f"{prefix}.{fraction:06d}Z"


_UUID_CLEAR = ~((0xF << 76) | (0xC << 60))
_UUID_SET = (0x4 << 76) | (0x8 << 60)


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID from the seeded generator (uuid.uuid4 would not be reproducible)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def name_suffix(rng: random.Random, length: int) -> str:
    """A generated Kubernetes name suffix (`-7c9d8`) of `length` characters."""
    return "".join(rng.choice(SAFE) for _ in range(length))


def json_escaped(text: str) -> bytes:
    """`text` as the inside of a JSON string, to splice into pre-serialised bodies."""
    return orjson.dumps(text)[1:-1]


def parse_start(start: str) -> int:
    """An RFC 3339 time (`2026-11-20T09:00:00Z`) as microseconds since the epoch; ValueError if unreadable."""
    nanos = int(parse_times([start])[0])
    if nanos == 0:
        raise ValueError(f"not an RFC 3339 time: {start!r}")
    return nanos // 1000


class Picker(Generic[T]):
    """Weighted choice with one random() call and a bisect: the hot path's only chooser."""

    def __init__(self, rng: random.Random, items: list[tuple[float, T]]) -> None:
        total = 0.0
        self._cum: list[float] = []
        for weight, _ in items:
            total += weight
            self._cum.append(total)
        self._values = [value for _, value in items]
        self._total = total
        self._rng = rng

    def __call__(self) -> T:
        return self._values[bisect.bisect_right(self._cum, self._rng.random() * self._total)]
