"""Engine values to rich `Text`: the one place where data meets styles.

Every string that came from a log or a policy passes through `safe()` here: it becomes a literal
`Text` (never parsed as markup) whose control and format characters are shown as escapes
(`\\x1b`, `\\u202e`) by the engine's `visible()`, so nothing from the data reaches the terminal as
a control sequence and nothing can restyle or break the layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.highlighter import JSONHighlighter
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from k8saudit_tui.engine.model import STAGES, Policy, Problem, Verdict
from k8saudit_tui.engine.policy.explain import Explanation
from k8saudit_tui.engine.textsafe import visible

LEVEL_STYLES: dict[str, str] = {
    "None": "dim",
    "Metadata": "bold cyan",
    "Request": "bold yellow",
    "RequestResponse": "bold magenta",
}
"""Level colours, the same everywhere (policy pane, events list, detail)."""

STATUS_STYLES: dict[str, str] = {"matched": "bold green", "failed": "red", "n/a": "dim"}
PROBLEM_STYLES: dict[str, str] = {"error": "bold red", "warning": "yellow"}
MAX_CELL = 400
"""Cells longer than this are cut (with an ellipsis); the detail pane shows the whole value."""
MAX_JSON_CHARS = 200_000
"""The detail pane's JSON view stops here; bodies can be megabytes and the terminal is not a pager."""


def safe(value: object, style: str | Style = "", *, limit: int | None = None) -> Text:
    """`value` as a literal one-line `Text` with control characters made visible."""
    text = visible(value if isinstance(value, str) else str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text, style=style, no_wrap=True, end="")


def safe_multiline(value: str, style: str | Style = "") -> Text:
    """Like `safe` but keeps newlines, for text whose lines are meaningful (policy YAML)."""
    return Text(visible(value, keep_newlines=True), style=style, end="")


def level_style(level: str) -> str:
    """The style of a level name; unknown levels are plain."""
    return LEVEL_STYLES.get(level, "")


def level_text(level: str) -> Text:
    """A level name in its level colour."""
    return safe(level, level_style(level))


def fit(text: Text, width: int) -> Text:
    """`text` cut or padded to exactly `width` cells, so table columns line up."""
    cell = text.copy()
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


@dataclass(frozen=True, slots=True)
class Column:
    """One events-list column: its heading, the store field it shows, and its width in cells."""

    title: str
    field: str
    width: int
    short: bool = False
    """Show the short label of a stage or level (`Complete`, `ReqResp`): narrow lists."""
    middle: bool = False
    """Cut a long value in the middle, keeping its end (`system:…replicaset-controller`):
    user names share long prefixes and differ at the end."""


def header_text(columns: Sequence[Column]) -> Text:
    """The events list heading line."""
    line = Text(no_wrap=True, end="")
    for column in columns:
        line.append_text(fit(Text(column.title, style="bold"), column.width))
        line.append(" ")
    return line


def row_segments(values: Mapping[str, object], columns: Sequence[Column], base: Style | None = None) -> list[Segment]:
    """One event as a table row, as segments: each value made safe and fitted to its column.

    Built straight from strings and cached `Style`s (no `Text`, no console render): the list pays
    this for every row that scrolls into view, so it is the cost of a page-down. `base` (the
    cursor style) goes under every cell's own style, as `Strip.apply_style` would put it."""
    segments: list[Segment] = []
    for column in columns:
        text, style_name = cell_value(column.field, values.get(column.field), short=column.short)
        style = rich_style(style_name)
        if base is not None:
            style = base + style
        fitted = fit_middle(text, column.width) if column.middle else fit_plain(text, column.width)
        segments.append(Segment(fitted + " ", style))
    return segments


SHORT_LABELS: dict[str, str] = {
    "RequestReceived": "Received",
    "ResponseStarted": "Started",
    "ResponseComplete": "Complete",
    "Panic": "Panic",
    "RequestResponse": "ReqResp",
}
"""Stage and level names as the narrow list shows them (anything else is shown as it is)."""


def cell_value(field: str, value: object, *, short: bool = False) -> tuple[str, str]:
    """One table cell as (safe text, style name): levels coloured, codes coloured by class;
    `short` gives stages and levels their short labels."""
    if value is None or value == "":
        return "", ""
    if field in ("level", "recorded_level"):
        name = str(value)
        return visible(SHORT_LABELS.get(name, name) if short else name), level_style(name)
    if field == "stage" and short:
        name = str(value)
        return visible(SHORT_LABELS.get(name, name)), ""
    if field == "code":
        return visible(str(value)), _code_style(value)
    if field == "time":
        return visible(short_time(str(value))), "dim"
    text = value if isinstance(value, str) else str(value)
    return visible(text[:MAX_CELL]), ""


def fit_plain(text: str, width: int) -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` terminal cells.

    `text` is already made visible, so an ASCII string is one cell per character; anything else
    (CJK, emoji) is measured by rich's cell width."""
    if text.isascii():
        if len(text) <= width:
            return text.ljust(width)
        return text[: width - 1] + "…"
    cells = cell_len(text)
    if cells <= width:
        return text + " " * (width - cells)
    return set_cell_size(text, width - 1) + "…"


def fit_middle(text: str, width: int) -> str:
    """Like `fit_plain`, but a value too long loses its middle: a third of the cells keep its
    start, the rest its end, around an ellipsis."""
    if cell_len(text) <= width or width < 8:
        return fit_plain(text, width)
    head = width // 3
    start = set_cell_size(text, head)
    end = text[-(width - head - 1) :]
    while cell_len(end) > width - head - 1:
        end = end[1:]
    return fit_plain(f"{start}…{end}", width)


_STYLES: dict[str, Style] = {}


def rich_style(name: str) -> Style:
    """A style name parsed once (`Style.parse` on every cell of every row is measurable)."""
    style = _STYLES.get(name)
    if style is None:
        style = Style.parse(name) if name else Style.null()
        _STYLES[name] = style
    return style


def cell_text(field: str, value: object, *, short: bool = False) -> Text:
    """One table cell as `Text` (the same value and style as `row_segments` puts in the list)."""
    text, style = cell_value(field, value, short=short)
    return Text(text, style=style, no_wrap=True, end="")


def _code_style(code: object) -> str:
    try:
        number = int(str(code))
    except ValueError:
        return ""
    if number >= 500:
        return "bold red"
    if number >= 400:
        return "red"
    if number >= 300:
        return "yellow"
    return "green"


def short_time(value: str) -> str:
    """`2024-05-14T09:00:01.123456Z` as `09:00:01.123`: what fits in a column (date: detail pane)."""
    if len(value) >= 19 and value[10:11] in ("T", " "):
        rest = value[19:].rstrip("Z")
        millis = rest[:4] if rest.startswith(".") else ""
        return f"{value[11:19]}{millis}"
    return value


def rule_label(rule: int | None) -> str:
    """A rule index as users read it in the policy pane (`#3`), or `-` for no match."""
    return "-" if rule is None else f"#{rule}"


# ----------------------------------------------------------------------------- policy pane


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One line of the policy pane: its text and the rule it belongs to (None: outside rules)."""

    text: Text
    rule: int | None
    header: bool = False


def policy_lines(
    policy: Policy | None,
    counts: Mapping[int | None, int],
    total: int,
    problems: Iterable[Problem],
) -> list[PolicyLine]:
    """The policy pane's content: for each rule a header (index, level, hits, share), its YAML
    lines numbered as in the file, and the problems found on those lines."""
    problems = list(problems)
    if policy is None:
        lines = [PolicyLine(Text("No policy loaded. Press p to load one.", style="italic"), None)]
        return lines + [_problem_line(problem) for problem in problems]
    source = policy.text.splitlines()
    out: list[PolicyLine] = []
    placed: set[int] = set()
    first_rule_line = min((r.line for r in policy.rules if r.line), default=len(source) + 1)
    gap_start = _leading_end(source, first_rule_line) + 1
    out.extend(_yaml_lines(source, 1, gap_start - 1, None))
    for index, rule in enumerate(policy.rules):
        out.append(PolicyLine(_rule_header(index, rule.level, counts.get(index, 0), total), index, True))
        start, end = rule.line or 0, rule.end_line or rule.line or 0
        if start:
            # comments just above a rule describe it: show them under its header
            out.extend(_yaml_lines(source, gap_start, end, index))
            gap_start = end + 1
        for number, problem in enumerate(problems):
            if problem.line is not None and start <= problem.line <= end and number not in placed:
                placed.add(number)
                out.append(PolicyLine(_problem_text(problem), index))
    out.extend(_yaml_lines(source, gap_start, len(source), None))
    if total:
        out.append(PolicyLine(_no_match_header(counts.get(None, 0), total), None, True))
    for number, problem in enumerate(problems):
        if number not in placed:
            out.append(_problem_line(problem))
    return out


def _leading_end(source: list[str], first_rule_line: int) -> int:
    """Last line of the policy's head: the comment lines right above the first rule go with it."""
    end = first_rule_line - 1
    while end >= 1 and source[end - 1].lstrip().startswith("#"):
        end -= 1
    return end


def _yaml_lines(source: list[str], start: int, end: int, rule: int | None) -> list[PolicyLine]:
    lines = []
    for number in range(max(start, 1), min(end, len(source)) + 1):
        line = Text(f"{number:>4} ", style="dim", no_wrap=True, end="")
        line.append_text(safe(source[number - 1], limit=MAX_CELL))
        lines.append(PolicyLine(line, rule))
    return lines


def _rule_header(index: int, level: str, hits: int, total: int) -> Text:
    header = Text(no_wrap=True, end="")
    header.append(f"rule #{index} ", style="bold")
    header.append_text(level_text(level))
    share = f"{100 * hits / total:.1f}%" if total else "-"
    header.append(f"  {hits:,} hits  {share}", style="bold" if hits else "dim")
    return header


def _no_match_header(hits: int, total: int) -> Text:
    share = f"{100 * hits / total:.1f}%" if total else "-"
    return Text(f"no rule matched: {hits:,} events  {share}", style="dim italic", no_wrap=True)


def _problem_text(problem: Problem) -> Text:
    line = Text("     ", no_wrap=True, end="")
    label = "error" if problem.severity == "error" else "warning"
    line.append(f"{label}: ", style=PROBLEM_STYLES.get(problem.severity, ""))
    field = f"{problem.field}: " if problem.field else ""
    line.append_text(safe(field + problem.message, limit=MAX_CELL))
    return line


def _problem_line(problem: Problem) -> PolicyLine:
    return PolicyLine(_problem_text(problem), None)


# ----------------------------------------------------------------------------- detail pane


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _join(values: object) -> str:
    if isinstance(values, list):
        return ", ".join(str(v) for v in values)
    return "" if values is None else str(values)


def latency(start: object, end: object) -> str:
    """Human latency between two RFC 3339 timestamps, or '' if either does not parse."""
    try:
        first = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        second = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return ""
    millis = (second - first).total_seconds() * 1000
    return f"{millis:.0f} ms" if millis < 10_000 else f"{millis / 1000:.1f} s"


def questions_text(event: Mapping[str, Any]) -> Text:
    """The seven questions of an audit event answered in plain words (all values made safe)."""
    out = Text(end="")
    ref = event.get("objectRef") if isinstance(event.get("objectRef"), Mapping) else {}
    received = event.get("requestReceivedTimestamp") or event.get("timestamp") or ""
    staged = event.get("stageTimestamp") or ""
    took = latency(received, staged)
    when = f"{received} (stage at {staged}{', after ' + took if took else ''})" if staged else str(received)
    _answer(out, "When", when)
    code = _get(event, "responseStatus", "code")
    what = f"{event.get('verb', '')} {event.get('requestURI', '')}"
    if code is not None:
        reason = _get(event, "responseStatus", "reason") or _get(event, "responseStatus", "status") or ""
        what += f" → {code} {reason}".rstrip()
    _answer(out, "What", what)
    if ref:
        target = "/".join(str(ref.get(k)) for k in ("resource", "subresource") if ref.get(k))
        if ref.get("name"):
            target += f" {ref.get('name')!s}"
        _answer(out, "On what", target or "(no resource)")
        group = ref.get("apiGroup") or "core"
        version = ref.get("apiVersion") or ""
        place = f"namespace {ref.get('namespace')}" if ref.get("namespace") else "cluster scope"
        _answer(out, "To where", f"{place}, API group {group}{'/' + str(version) if version else ''}")
    else:
        _answer(out, "On what", "a non-resource URL (no objectRef)")
        _answer(out, "To where", "the API server itself")
    _answer(out, "Observed", f"stage {event.get('stage', '')}")
    _answer(out, "From where", f"{_join(event.get('sourceIPs')) or '?'} using {event.get('userAgent') or '?'}")
    _answer(out, "Who", _who(event))
    return out


def _who(event: Mapping[str, Any]) -> str:
    user = event.get("user") if isinstance(event.get("user"), Mapping) else {}
    name = user.get("username") or "(unauthenticated)"
    who = f"{name} in groups {_join(user.get('groups'))}" if user.get("groups") else str(name)
    imp = event.get("impersonatedUser")
    if isinstance(imp, Mapping) and imp.get("username"):
        who += f", acting as {imp.get('username')}"
        if imp.get("groups"):
            who += f" in groups {_join(imp.get('groups'))}"
    return who


def _answer(out: Text, question: str, answer: object) -> None:
    out.append(f"{question:>10}: ", style="bold")
    out.append_text(safe(answer, limit=4 * MAX_CELL))
    out.append("\n")


def verdict_text(verdict: Verdict | None, stage: str, recorded_level: str = "") -> Text:
    """The verdict in words: rule, level, effective omitStages, whether this event is written."""
    out = Text(end="")
    if verdict is None:
        out.append("No policy loaded: press p to load one and see which rule decides this event.\n", style="italic")
        return out
    out.append("   Verdict: ", style="bold")
    out.append("no rule matched" if verdict.rule is None else f"rule #{verdict.rule}")
    out.append(", level ")
    out.append_text(level_text(verdict.level))
    omitted = [s for s in STAGES if s in verdict.omit_stages]
    out.append(f", omitStages [{', '.join(omitted)}]")
    if verdict.omit_managed_fields:
        out.append(", omitManagedFields")
    out.append("\n")
    written = verdict.emits(stage)
    out.append("   Written: ", style="bold")
    out.append("yes" if written else "no", style="green" if written else "red")
    reason = _written_reason(verdict, stage)
    out.append_text(safe(reason))
    if recorded_level and recorded_level != verdict.level:
        out.append("; the log recorded level ")
        out.append_text(level_text(recorded_level))
    out.append("\n")
    return out


def _written_reason(verdict: Verdict, stage: str) -> str:
    if verdict.level == "None":
        return " (level None is never written)"
    if stage in verdict.omit_stages:
        return f" (stage {stage} is omitted)"
    return f" (stage {stage} at level {verdict.level})"


def explanation_text(explanation: Explanation) -> Text:
    """The explain trace: each rule, matched or not, and each clause with its reason."""
    out = Text(end="")
    for rule in explanation.rules:
        mark, style = ("✔", "bold green") if rule.matched else ("✘", "red")
        out.append(f" {mark} rule #{rule.index} ", style=style)
        out.append_text(level_text(str(rule.level)))
        out.append("\n")
        for clause in rule.clauses:
            out.append(f"     {clause.status:<7} ", style=STATUS_STYLES.get(clause.status, ""))
            out.append_text(safe(f"{clause.name}: {clause.reason}", limit=4 * MAX_CELL))
            out.append("\n")
    return out


def json_lines(data: object, limit: int = MAX_JSON_CHARS) -> list[str]:
    """`data` as indented JSON lines, made safe (control/format characters escaped), not yet
    highlighted: the detail pane highlights only the lines it paints (`json_line_text`)."""
    dumped = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if len(dumped) > limit:
        dumped = dumped[:limit] + f"\n… ({len(dumped) - limit:,} more characters; export to see all)"
    return visible(dumped, keep_newlines=True).split("\n")


_JSON_HIGHLIGHTER = JSONHighlighter()


def json_line_text(line: str) -> Text:
    """One line of `json_lines` highlighted (keys, strings, numbers; the line is already safe)."""
    text = Text(line, end="")
    _JSON_HIGHLIGHTER.highlight(text)
    return text


def json_text(data: object, limit: int = MAX_JSON_CHARS) -> Text:
    """`data` as indented, highlighted JSON; non-ASCII control/format characters escaped too."""
    text = Text(end="")
    for number, line in enumerate(json_lines(data, limit)):
        if number:
            text.append("\n")
        text.append_text(json_line_text(line))
    return text


def problem_text(problem: Problem) -> Text:
    """A load problem (`file:line: field: message`) made safe for a status line or list."""
    return safe(str(problem), PROBLEM_STYLES.get(problem.severity, ""), limit=4 * MAX_CELL)
