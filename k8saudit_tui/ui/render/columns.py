"""The events list's columns: their order, and their widths fitted to the list and to the data.

Why: fixed widths wasted the screen (at 200 columns stage and level took 31 cells while the object
name and the code fell off the edge; at 120 the list ended at the resource). Widths now come from
what the loaded events hold (the widest distinct value of a column, capped so that one hostile
value cannot take the screen) and from the list's width, by priority:

1. the columns from the left (time, level, rule, verb, user, resource, namespace, name, code, then
   stage) enter the window while they fit at their narrowest useful width; the others keep their
   natural width beyond the right edge, where `h`/`l` reach them (time stays put);
2. the space left goes to the user first (a truncated user name is what a responder misses most),
   then resource, namespace, name and verb: first up to a comfortable width each, then up to the
   widest value;
3. only when every column shows its widest value do level and stage take their long labels
   (`RequestResponse`, `ResponseComplete` instead of `ReqResp`, `Complete`).

Contract: `allocate` is a pure function of the list's width and a `ContentWidths`; `ColumnMeter`
measures the data incrementally (dictionaries only grow) and answers the same immutable value
until the data or the policy changes, so the list can ask on every view change and pay nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from rich.cells import cell_len

from k8saudit_tui.engine.fields import FIELDS
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render.cells import SHORT_LABELS, Column

DAY_NS = 86_400 * 1_000_000_000
TIME_TITLE = "time (UTC)"
TIME_WIDTHS = (12, 19)
"""`09:00:01.123`, or `2024-05-01 10:15:03` when the events span more than one day (UTC)."""

LEVEL_NAMES = ("None", "Metadata", "Request", "RequestResponse")
STAGE_NAMES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")


@dataclass(frozen=True, slots=True)
class Spec:
    """How one column may be sized: `minimum` to enter the window, `comfortable` the first round
    of growth, `cap` the most any content makes it (hostile values are cut)."""

    key: str
    """The key in the row values (the list title of the field)."""
    minimum: int
    comfortable: int
    cap: int
    middle: bool = False


ORDER: tuple[Spec, ...] = (
    Spec("time", 12, 12, 19),
    Spec("level", 8, 8, 15),
    Spec("rule", 4, 4, 7),
    Spec("verb", 6, 7, 16),
    Spec("user", 14, 24, 48, middle=True),
    Spec("resource", 9, 20, 40),
    Spec("namespace", 8, 16, 32),
    Spec("name", 8, 24, 64),
    Spec("code", 4, 4, 4),
    Spec("stage", 8, 8, 16),
)
"""Display order. Time is pinned on the left when the list scrolls sideways."""

CHANGE = Spec("change", 7, 7, 7)
"""The candidate's change class (`dropped`, `added`, `up`, `down`; blank for same): after the
rule, only while a candidate policy is loaded (`ContentWidths.changes`)."""


def shown_order(content: ContentWidths) -> tuple[Spec, ...]:
    """ORDER, with the change column after the rule when the events are compared."""
    if not content.changes:
        return ORDER
    at = next(i for i, spec in enumerate(ORDER) if spec.key == "rule") + 1
    return (*ORDER[:at], CHANGE, *ORDER[at:])


GROWTH = ("user", "resource", "namespace", "name", "verb")
"""Who gets the free space, in this order."""
LABELLED = ("level", "stage")
"""Columns with a short label and a long one."""

SHORT_TITLES: Mapping[str, str] = MappingProxyType(
    {f.title: f.name for f in FIELDS if f.title is not None and len(f.name) < len(f.title)}
)
"""A column narrower than its title is headed by the field's filter name (`ns` for namespace)."""


@dataclass(frozen=True, slots=True)
class ContentWidths:
    """The widest value of each column in the data (cells), and whether to show the date."""

    widths: Mapping[str, int] = field(default_factory=dict)
    dated: bool = False
    changes: bool = False
    """A candidate policy is loaded: the change column shows."""


def _label_width(names: Sequence[str], *, short: bool) -> int:
    return max(len(SHORT_LABELS.get(name, name) if short else name) for name in names)


def allocate(width: int, content: ContentWidths) -> tuple[Column, ...]:
    """The columns for a list `width` cells wide (see the module docstring for the rules)."""
    order = shown_order(content)
    natural: dict[str, int] = {}
    for spec in order:
        if spec.key == "time":
            natural[spec.key] = TIME_WIDTHS[content.dated]
        elif spec.key in LABELLED:
            natural[spec.key] = _label_width(LEVEL_NAMES if spec.key == "level" else STAGE_NAMES, short=True)
        else:
            measured = max(content.widths.get(spec.key, 0), len(SHORT_TITLES.get(spec.key, spec.key)))
            natural[spec.key] = max(spec.minimum, min(spec.cap, measured))
    minimum = {spec.key: min(natural[spec.key], spec.minimum) for spec in order}
    minimum["time"] = natural["time"]

    widths = dict(natural)
    used, admitted = 0, set()
    for spec in order:
        if used + minimum[spec.key] > width:
            break
        used += minimum[spec.key] + 1
        admitted.add(spec.key)
        widths[spec.key] = minimum[spec.key]
    free = width - used
    for limit in ("comfortable", "natural"):
        for key in GROWTH:
            if key not in admitted or free <= 0:
                continue
            spec = next(s for s in order if s.key == key)
            target = natural[key] if limit == "natural" else min(natural[key], spec.comfortable)
            grow = max(0, min(free, target - widths[key]))
            widths[key] += grow
            free -= grow
    long_labels: set[str] = set()
    if len(admitted) == len(order) and all(widths[k] == natural[k] for k in natural):
        for key in LABELLED:
            names = LEVEL_NAMES if key == "level" else STAGE_NAMES
            grow = _label_width(names, short=False) - widths[key]
            if grow <= free:
                widths[key] += grow
                free -= grow
                long_labels.add(key)
    return tuple(_column(spec, widths[spec.key], content.dated, spec.key in long_labels) for spec in order)


def _column(spec: Spec, width: int, dated: bool, long_label: bool) -> Column:
    title = TIME_TITLE if spec.key == "time" else spec.key
    if len(title) > width:
        title = SHORT_TITLES.get(title, title)
    return Column(
        title,
        spec.key,
        width,
        short=spec.key in LABELLED and not long_label,
        middle=spec.middle,
        dated=dated and spec.key == "time",
    )


def row_width(columns: Sequence[Column]) -> int:
    """Cells in a full row: each column and the space after it."""
    return sum(column.width + 1 for column in columns)


class WidthSource(Protocol):
    """What the meter reads (the session): distinct values, the time span, the policy."""

    @property
    def total(self) -> int: ...
    @property
    def policy(self) -> Any: ...
    def distinct_values(self, column: str) -> Sequence[Any]: ...
    def time_range(self) -> tuple[int, int] | None: ...


def _compared(source: WidthSource) -> bool:
    """Whether `source` has a candidate policy loaded (a source without the notion has none)."""
    return bool(getattr(source, "compared", False))


MEASURED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "verb": ("verb",),
        "user": ("user",),
        "resource": ("resource", "subresource"),
        "namespace": ("ns",),
        "name": ("name",),
    }
)
"""List column -> the dictionary-coded store columns its values come from (resource/subresource)."""


class ColumnMeter:
    """Measures the widest value of each column, reading only the values new since last time."""

    def __init__(self, source: WidthSource) -> None:
        self._source = source
        self._seen: dict[str, tuple[int, int]] = {}
        """Store column -> (values measured, widest)."""
        self._key: tuple[int, int, bool] | None = None
        self._last = ContentWidths()

    def _widest(self, column: str) -> int:
        values = self._source.distinct_values(column)
        count, widest = self._seen.get(column, (0, 0))
        if len(values) > count:
            new = values[count:]
            widest = max(widest, max(cell_len(visible(str(value))) for value in new))
            self._seen[column] = (count + len(new), widest)
        return widest

    def measure(self) -> ContentWidths:
        """The content widths now (the same value while nothing changed)."""
        policy = self._source.policy
        compared = _compared(self._source)
        key = (self._source.total, id(policy), compared)
        if key == self._key:
            return self._last
        widths = {}
        for name, columns in MEASURED.items():
            parts = [self._widest(column) for column in columns]
            widths[name] = parts[0] + (parts[1] + 1 if len(parts) > 1 and parts[1] else 0)
        rules = len(getattr(policy, "rules", ()) or ())
        widths["rule"] = len(f"#{rules - 1}") if rules else 1
        if rules and getattr(self._source, "lossy", False):  # a lossy format's rule may be `unknown`
            widths["rule"] = max(widths["rule"], len("unknown"))
        widths["code"] = 3
        widths["change"] = CHANGE.cap
        span = self._source.time_range()
        dated = span is not None and span[0] // DAY_NS != span[1] // DAY_NS
        self._key, self._last = key, ContentWidths(MappingProxyType(widths), dated, compared)
        return self._last
