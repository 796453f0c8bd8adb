"""The detail pane's text: the seven questions, the verdict, the explain trace, the JSON.

Built in a worker thread (no Textual state here); JSON lines are made safe but highlighted only
when painted (`json_line_text`), since an event's body can be hundreds of kilobytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text

from k8saudit_tui.engine.model import STAGES, Verdict
from k8saudit_tui.engine.policy.explain import Explanation
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.render import MAX_CELL, MAX_JSON_CHARS, STATUS_STYLES, level_text, safe


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
