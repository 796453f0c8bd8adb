"""The detail pane's text: the seven questions, the verdict, the explain trace, the JSON.

Built in a worker thread (no Textual state here); JSON lines are made safe but highlighted only
when painted (`json_line_text`), since an event's body can be hundreds of kilobytes. Every head
line carries its hanging indent (`HeadLine`): a wrapped answer continues under its value, not
at column 0, because the label column is what the eye scans down; the indent is stated where
the line is built, never guessed back from the text (whose values come from the log).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text

from k8saudit_tui.engine.model import STAGES, Verdict
from k8saudit_tui.engine.policy.explain import ClauseTrace, Explanation, describe_request
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render import MAX_CELL, MAX_JSON_CHARS, STATUS_STYLES, level_text, safe

HeadLine = tuple[Text, int]
"""A line of the pane's head and the column its wrapped continuation lines start at."""

LABEL_WIDTH = 12
"""`{label:>10}: `: the questions and the verdict answer from this column."""
CLAUSE_MARKS: dict[str, str] = {"matched": "[+]", "failed": "[x]", "n/a": "[-]", "unknown": "[?]"}
"""The explain trace's marks, as the CLI's `explain` prints them."""


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


def join_lines(lines: Iterable[HeadLine]) -> Text:
    """Head lines as one `Text` (tests and `DetailContent.text` read its `.plain`)."""
    return Text("\n", end="").join(text for text, _ in lines)


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
    """The seven questions as one `Text` (see `questions_lines`)."""
    return join_lines(questions_lines(event))


def questions_lines(event: Mapping[str, Any]) -> list[HeadLine]:
    """The seven questions of an audit event answered in plain words (all values made safe)."""
    out: list[HeadLine] = []
    ref = event.get("objectRef") if isinstance(event.get("objectRef"), Mapping) else {}
    received = event.get("requestReceivedTimestamp") or event.get("timestamp") or ""
    staged = event.get("stageTimestamp") or ""
    took = latency(received, staged)
    when = f"{received} (stage at {staged}{', after ' + took if took else ''})" if staged else str(received)
    out.append(_answer("When", when))
    code = _get(event, "responseStatus", "code")
    what = f"{event.get('verb', '')} {event.get('requestURI', '')}"
    if code is not None:
        reason = _get(event, "responseStatus", "reason") or _get(event, "responseStatus", "status") or ""
        what += f" → {code} {reason}".rstrip()
    out.append(_answer("What", what))
    if ref:
        target = "/".join(str(ref.get(k)) for k in ("resource", "subresource") if ref.get(k))
        if ref.get("name"):
            target += f" {ref.get('name')!s}"
        out.append(_answer("On what", target or "(no resource)"))
        group = ref.get("apiGroup") or "core"
        version = ref.get("apiVersion") or ""
        place = f"namespace {ref.get('namespace')}" if ref.get("namespace") else "cluster scope"
        out.append(_answer("To where", f"{place}, API group {group}{'/' + str(version) if version else ''}"))
    else:
        out.append(_answer("On what", "a non-resource URL (no objectRef)"))
        out.append(_answer("To where", "the API server itself"))
    out.append(_answer("Observed", f"stage {event.get('stage', '')}"))
    out.append(_answer("From where", f"{_join(event.get('sourceIPs')) or '?'} using {event.get('userAgent') or '?'}"))
    out.append(_answer("Who", _who(event)))
    return out


def _who(event: Mapping[str, Any]) -> str:
    given = event.get("user")
    user: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    name = user.get("username") or "(unauthenticated)"
    who = f"{name} in groups {_join(user.get('groups'))}" if user.get("groups") else str(name)
    imp = event.get("impersonatedUser")
    if isinstance(imp, Mapping) and imp.get("username"):
        who += f", acting as {imp.get('username')}"
        if imp.get("groups"):
            who += f" in groups {_join(imp.get('groups'))}"
    return who


def _label(question: str) -> Text:
    """The question in bold, as a span: a base style would make the whole answer bold."""
    line = Text(end="")
    line.append(f"{question:>10}: ", style="bold")
    return line


def _answer(question: str, answer: object) -> HeadLine:
    line = _label(question)
    line.append_text(safe(answer, limit=4 * MAX_CELL))
    return line, LABEL_WIDTH


def masking_line(masked: int, revealed: bool) -> HeadLine | None:
    """What the pane hides (Secret data, tokens, Authorization values) and the key that shows
    it; None when the event holds nothing to mask."""
    if not masked:
        return None
    values = f"{masked} value{'s' if masked != 1 else ''}"
    if revealed:
        return Text(f"{values} shown as logged (secrets): r to mask", style="bold red", end=""), 0
    return Text(f"{values} masked: r to reveal", style="yellow", end=""), 0


def verdict_lines(verdict: Verdict | None, stage: str, recorded_level: str = "") -> list[HeadLine]:
    """The verdict in words: rule, level, effective omitStages, whether this event is written."""
    if verdict is None:
        note = "No policy loaded: press p to load one and see which rule decides this event."
        return [(Text(note, style="italic", end=""), 0)]
    line = _label("Verdict")
    line.append("no rule matched" if verdict.rule is None else f"rule #{verdict.rule}")
    line.append(", level ")
    line.append_text(level_text(verdict.level))
    omitted = [s for s in STAGES if s in verdict.omit_stages]
    line.append(f", omitStages [{', '.join(omitted)}]")
    if verdict.omit_managed_fields:
        line.append(", omitManagedFields")
    written = verdict.emits(stage)
    second = _label("Written")
    second.append("yes" if written else "no", style="green" if written else "red")
    second.append_text(safe(_written_reason(verdict, stage)))
    if recorded_level and recorded_level != verdict.level:
        second.append("; the log recorded level ")
        second.append_text(level_text(recorded_level))
    return [(line, LABEL_WIDTH), (second, LABEL_WIDTH)]


def _written_reason(verdict: Verdict, stage: str) -> str:
    if verdict.level == "None":
        return " (level None is never written)"
    if stage in verdict.omit_stages:
        return f" (stage {stage} is omitted)"
    return f" (stage {stage} at level {verdict.level})"


def explanation_lines(explanation: Explanation) -> list[HeadLine]:
    """The explain trace as the CLI's `explain` words it: the request as the policy saw it, then
    each rule tried with the clauses it sets (matched, failed, not applicable: why), and the
    clauses it leaves unset on one line: they accept any value and decide nothing."""
    request = Text(end="")
    request.append("request: ", style="bold")
    request.append_text(safe(describe_request(explanation.attrs), limit=4 * MAX_CELL))
    out: list[HeadLine] = [(request, len("request: "))]
    for rule in explanation.rules:
        head = Text(end="")
        head.append(f"rule {rule.index}", style="bold")
        if rule.line is not None:
            head.append(f" (line {rule.line})")
        head.append(" level ")
        head.append_text(level_text(str(rule.level)))
        head.append(": ")
        result = "MATCH" if rule.matched else "CANNOT EVALUATE" if rule.unknown else "no match"
        head.append(result, style="bold green" if rule.matched else "bold yellow" if rule.unknown else "red")
        out.append((head, 2))
        out.extend(_clause_line(clause) for clause in rule.clauses if clause.is_set)
        unset = [clause.name for clause in rule.clauses if not clause.is_set]
        if len(unset) == len(rule.clauses):
            out.append((Text("  no clause set: the rule matches every request", style="dim", end=""), 4))
        elif unset:
            label = "  other clauses not set (any value): "
            out.append((Text(label + ", ".join(unset), style="dim", end=""), len(label)))
    return out


def _clause_line(clause: ClauseTrace) -> HeadLine:
    line = Text("  ", end="")
    line.append(CLAUSE_MARKS.get(clause.status, "[?]"), style=STATUS_STYLES.get(clause.status, ""))
    label = f" {clause.name}: "
    line.append(label)
    line.append_text(safe(clause.reason, limit=4 * MAX_CELL))
    return line, 5 + len(label)


def json_lines(data: object, limit: int = MAX_JSON_CHARS) -> list[str]:
    """`data` as indented JSON lines, made safe (control/format characters escaped), not yet
    highlighted: the detail pane highlights only the lines it paints (`json_line_text`)."""
    dumped = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if len(dumped) > limit:
        dumped = dumped[:limit] + f"\n… ({len(dumped) - limit:,} more characters; export to see all)"
    return visible(dumped, keep_newlines=True).split("\n")


def json_hang(line: str) -> int:
    """Where a wrapped JSON line continues: two past its own indentation, so it stays inside
    its object and is not read as a sibling key."""
    return len(line) - len(line.lstrip(" ")) + 2


_JSON_HIGHLIGHTER = JSONHighlighter()


def json_line_text(line: str) -> Text:
    """One line of `json_lines` highlighted (keys, strings, numbers; the line is already safe)."""
    text = Text(line, end="")
    _JSON_HIGHLIGHTER.highlight(text)
    return text
