"""The policy report: one immutable value assembled from the workbench's pieces, as JSON and Markdown.

Why here and not in the command: the report is what a reviewer of a policy pull request reads and
what a CI gate decides on, so the numbers must come from the one definition of each (`cost` for
bytes, the store's verdict columns for hits and change classes, `security`, `drift`, `shadow`),
never recomputed; `report_part` gathers them per shard of the logs and merges them into a
`Report`, and this module only words it and judges `--fail-if` conditions.
JSON is data (strings as they are); Markdown makes every string from a log or a policy safe with
`textsafe.visible` and escapes the table separator.

Events whose format lost fields a policy reads (GKE: groups, stage) may be undecided: the report
counts them overall and per rule (`unknowns`), says so in the Markdown, and adds those keys only
when the log has such events, so the report of a raw log keeps its shape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from k8saudit_tui.engine.policy.presets import display_name
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.engine.workbench.changes import ChangeCounts
from k8saudit_tui.engine.workbench.cost import CostSummary
from k8saudit_tui.engine.workbench.drift import Drift
from k8saudit_tui.engine.workbench.security import ClassCoverage
from k8saudit_tui.engine.workbench.unknowns import UnknownCounts

SIMPLE_CONDITIONS = ("security-lost", "dropped>0", "dead-rules", "shadowed-rules")
_BYTES_CONDITION = re.compile(r"bytes>\+(\d+(?:\.\d+)?)%")
NEEDS_CANDIDATE = ("security-lost", "dropped>0")
"""Conditions (besides `bytes>+N%`) that compare the candidate with the current policy."""


class ConditionError(ValueError):
    """A `--fail-if` text that is not a condition."""


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule of one policy over the log."""

    policy: str
    index: int
    line: int | None
    level: str
    hits: int
    written: int
    bytes: int
    share: float
    shadowed_by: tuple[int, ...] | None
    unknown: int | None = None
    """Events whose rule became unknown at this rule (it needs a field their format lost); None
    when the log has no event of such a format."""
    maybe: int = 0
    """Events with an unknown rule that this rule may have matched (it, or an earlier one)."""

    @property
    def dead(self) -> bool:
        """No event matched it, and none may have (an unknown at it is not a miss)."""
        return self.hits == 0 and not self.unknown and not self.maybe

    def as_dict(self) -> dict[str, Any]:
        unknown = {} if self.unknown is None else {"unknown": self.unknown, "maybe": self.maybe}
        return {
            "policy": self.policy,
            "index": self.index,
            "line": self.line,
            "level": self.level,
            "hits": self.hits,
            "written": self.written,
            "bytes": self.bytes,
            "share": self.share,
            "dead": self.dead,
            "shadowed_by": list(self.shadowed_by) if self.shadowed_by is not None else [],
            "shadowed": self.shadowed_by is not None,
            **unknown,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `report` says; candidate-only parts are None without a candidate."""

    events: int
    current: CostSummary
    candidate: CostSummary | None
    changes: ChangeCounts | None
    rules: tuple[RuleRow, ...]
    drift: Drift
    security: tuple[ClassCoverage, ...]
    current_source: str
    candidate_source: str | None
    unknown: UnknownCounts | None = None
    """Events the loaded policy leaves undecided (lossy formats); None when the log has none."""
    candidate_unknown: UnknownCounts | None = None

    @property
    def bytes_change(self) -> float | None:
        """Candidate bytes over current bytes, as a percentage (None without candidate or bytes)."""
        if self.candidate is None or not self.current.bytes:
            return None
        return (self.candidate.bytes - self.current.bytes) * 100 / self.current.bytes

    @property
    def security_lost(self) -> tuple[str, ...]:
        return tuple(c.security_class.name for c in self.security if c.lost)

    def dead_rules(self) -> tuple[RuleRow, ...]:
        return tuple(row for row in self.rules if row.dead)

    def shadowed_rules(self) -> tuple[RuleRow, ...]:
        return tuple(row for row in self.rules if row.shadowed_by is not None)


def as_json(report: Report) -> dict[str, Any]:
    """The report as JSON data (the `--format json` object)."""
    result: dict[str, Any] = {"events": report.events}
    if report.changes is not None:
        result["changes"] = report.changes.as_dict()
    candidate = report.candidate
    result["bytes"] = {
        "current": report.current.bytes,
        "candidate": candidate.bytes if candidate is not None else None,
        "current_per_day": report.current.bytes_per_day,
        "candidate_per_day": candidate.bytes_per_day if candidate is not None else None,
        "change_percent": report.bytes_change,
        "lower_bound": report.current.lower_bound or (candidate is not None and candidate.lower_bound),
    }
    result["rules"] = [row.as_dict() for row in report.rules]
    if report.unknown is not None:
        result["unknown"] = {
            "current": report.unknown.as_dict(),
            "candidate": report.candidate_unknown.as_dict() if report.candidate_unknown is not None else None,
        }
    result["drift"] = {
        "verdict": report.drift.verdict,
        "compared": report.drift.compared,
        "disagree": report.drift.disagree,
        "groups": [
            {"rule": g.rule, "recorded": g.recorded, "evaluated": g.evaluated, "events": g.events}
            for g in report.drift.groups
        ],
    }
    result["security"] = [
        {
            "class": c.security_class.name,
            "title": c.security_class.title,
            "events": c.events,
            "current": c.current,
            "candidate": c.candidate,
            "lost": c.lost,
            "lowered": c.lowered,
        }
        for c in report.security
    ]
    return result


def parse_condition(text: str) -> str:
    """The condition as given when it is one; ConditionError otherwise."""
    if text in SIMPLE_CONDITIONS or _BYTES_CONDITION.fullmatch(text):
        return text
    raise ConditionError(
        f"--fail-if {text!r}: not a condition (bytes>+N%, security-lost, dropped>0, dead-rules, shadowed-rules)"
    )


def needs_candidate(condition: str) -> bool:
    return condition in NEEDS_CANDIDATE or _BYTES_CONDITION.fullmatch(condition) is not None


def failed_conditions(report: Report, conditions: Sequence[str]) -> list[str]:
    """The conditions that hold, each with why (for stderr); ValueError when one needs a candidate."""
    held = []
    for condition in conditions:
        if needs_candidate(condition) and report.candidate is None:
            raise ValueError(f"--fail-if {condition} needs --candidate")
        why = _why(report, condition)
        if why is not None:
            held.append(f"{condition}: {why}")
    return held


def _why(report: Report, condition: str) -> str | None:
    limit = _BYTES_CONDITION.fullmatch(condition)
    if limit is not None:
        assert report.candidate is not None
        change = report.bytes_change
        over = change > float(limit.group(1)) if change is not None else report.candidate.bytes > 0
        return (
            f"candidate writes {_signed(change)} bytes ({report.candidate.bytes:,} vs {report.current.bytes:,})"
            if over
            else None
        )
    if condition == "security-lost":
        lost = report.security_lost
        return f"security classes lost: {', '.join(lost)}" if lost else None
    if condition == "dropped>0":
        dropped = report.changes.dropped if report.changes is not None else 0
        return f"{dropped:,} events written now are dropped by the candidate" if dropped else None
    rows = report.dead_rules() if condition == "dead-rules" else report.shadowed_rules()
    word = "dead" if condition == "dead-rules" else "shadowed"
    return f"{word} rules: {_rule_list(rows)}" if rows else None


def _rule_list(rows: Sequence[RuleRow]) -> str:
    return ", ".join(f"{row.policy} {row.index}" for row in rows)


def _signed(change: float | None) -> str:
    return "n/a" if change is None else f"{change:+.1f}%"


def _cell(text: object) -> str:
    return visible(str(text)).replace("|", "\\|")


def _per_day(summary: CostSummary) -> str:
    value = summary.bytes_per_day
    return f"{value:,.0f} bytes/day" if value is not None else f"{summary.bytes:,} bytes"


def as_markdown(report: Report) -> str:
    """The report as Markdown for a pull request: summary line first, then tables."""
    out = [_summary(report), ""]
    names = [f"current policy: {visible(display_name(report.current_source))}"]
    if report.candidate_source is not None:
        names.append(f"candidate: {visible(display_name(report.candidate_source))}")
    out += [" · ".join(names), ""]
    if report.current.lower_bound or (report.candidate is not None and report.candidate.lower_bound):
        out += ["Byte figures are lower bounds: some events are recorded below the level a policy gives them.", ""]
    if report.unknown is not None:
        out += [_unknown_line(report.unknown), ""]
    if report.changes is not None:
        changes = report.changes.as_dict()
        out += ["## Changes", "", "| " + " | ".join(changes) + " |", "|" + "---:|" * len(changes)]
        out += ["| " + " | ".join(f"{v:,}" for v in changes.values()) + " |", ""]
    out += ["## Rules", "", "| policy | rule | line | level | hits | written | bytes | share | note |"]
    out += ["|---|---:|---:|---|---:|---:|---:|---:|---|"]
    for row in report.rules:
        notes = (
            (["dead"] if row.dead else [])
            + ([f"{row.unknown:,} unknown"] if row.unknown else [])
            + ([f"may match {row.maybe:,} unknown"] if row.maybe and row.maybe != row.unknown else [])
            + (
                [
                    f"shadowed by {', '.join(map(str, row.shadowed_by))}"
                    if row.shadowed_by
                    else "shadowed (matches nothing)"
                ]
                if row.shadowed_by is not None
                else []
            )
        )
        out.append(
            f"| {row.policy} | {row.index} | {row.line if row.line is not None else ''} | {_cell(row.level)} "
            f"| {row.hits:,} | {row.written:,} | {row.bytes:,} | {row.share:.1%} | {'; '.join(notes)} |"
        )
    out += ["", "## Security classes", "", "| class | events | current | candidate | lost | lowered |"]
    out += ["|---|---:|---:|---:|---:|---:|"]
    for c in report.security:
        cells = (c.candidate, c.lost, c.lowered)
        rest = " | ".join("" if v is None else f"{v:,}" for v in cells)
        out.append(f"| {_cell(c.security_class.title)} | {c.events:,} | {c.current:,} | {rest} |")
    out += ["", "## Drift", "", _cell(report.drift.verdict)]
    if report.drift.groups:
        out += ["", "| rule | recorded | evaluated | events |", "|---:|---|---|---:|"]
        for g in report.drift.groups:
            rule = "none" if g.rule is None else str(g.rule)
            out.append(f"| {rule} | {g.recorded} | {g.evaluated} | {g.events:,} |")
    return "\n".join(out) + "\n"


def _unknown_line(unknown: UnknownCounts) -> str:
    """What the loaded policy cannot decide, said before the tables."""
    if not unknown.events:
        return f"All {unknown.lossy:,} events of formats that lost fields (GKE: user groups, stage) are decided."
    return (
        f"**{unknown.events:,} events cannot be evaluated** (of {unknown.lossy:,} whose format lost user groups "
        f"or the stage, e.g. GKE): rule unknown for {unknown.rule:,}, level for {unknown.level:,}, "
        f"written for {unknown.written:,}. An unknown rule is counted in no rule's hits; the rules table "
        "notes `N unknown` at the rule that needs the lost field and `may match N unknown` at the later "
        "rules such an event may reach (neither is dead). Their bytes are counted as `apply` writes them: "
        "as the rebuilt event reads, without groups and at the stage the reader gave it."
    )


def _summary(report: Report) -> str:
    parts = [f"**{report.events:,} events**"]
    if report.unknown is not None and report.unknown.events:
        parts.append(f"{report.unknown.events:,} unknown")
    if report.candidate is not None:
        parts.append(f"{_per_day(report.current)} -> {_per_day(report.candidate)} ({_signed(report.bytes_change)})")
    else:
        parts.append(_per_day(report.current))
    if report.changes is not None:
        parts.append(", ".join(f"{v:,} {k}" for k, v in report.changes.as_dict().items() if k != "same") or "no change")
        lost = report.security_lost
        parts.append(f"security classes lost: {', '.join(lost) if lost else 'none'}")
    parts.append(f"dead rules: {_rule_list(report.dead_rules()) or 'none'}")
    parts.append(f"shadowed rules: {_rule_list(report.shadowed_rules()) or 'none'}")
    return " · ".join(parts)
