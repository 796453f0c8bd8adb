"""The policy pane's lines: each rule's header (level, hits, share), its YAML, its problems.

Lines carry the rule they belong to, so the pane can move its cursor and tint by rule without
parsing its own text back, and their hanging indent: the pane wraps what does not fit (a YAML
line, a warning whose consequence is at its end) under its own text, past the line numbers and
the YAML indentation, rather than cutting it or scrolling sideways (`wrap_policy_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.ui.render import MAX_CELL, PROBLEM_STYLES, count, level_text, safe
from k8saudit_tui.ui.render.wrap import hanging_wrap

GUTTER = 5
"""`{number:>4} `: the YAML starts in this column."""


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One line of the policy pane: its text and the rule it belongs to (None: outside rules).

    `header` marks a rule's header (and the no-match line); `hang` is where its wrapped
    continuation starts; `continues` marks a continuation, which keeps its line's rule and
    header flag (a wrapped header is tinted whole) but starts no rule."""

    text: Text
    rule: int | None
    header: bool = False
    hang: int = 0
    continues: bool = False

    @property
    def starts_rule(self) -> bool:
        """Whether this is the first line of a rule's header (or of the no-match line)."""
        return self.header and not self.continues


def wrap_policy_lines(lines: list[PolicyLine], console: Console, width: int) -> list[PolicyLine]:
    """`lines` laid out at `width`: those that do not fit wrap under their own text."""
    out: list[PolicyLine] = []
    for line in lines:
        if line.text.cell_len <= width:
            out.append(line)
            continue
        first, *rest = hanging_wrap(line.text, console, width, line.hang)
        out.append(PolicyLine(first, line.rule, line.header, line.hang))
        out.extend(PolicyLine(piece, line.rule, line.header, line.hang, continues=True) for piece in rest)
    return out


def policy_lines(
    policy: Policy | None,
    counts: Mapping[int | None, int],
    total: int,
    problems: Iterable[Problem],
    written: Mapping[int | None, int] | None = None,
) -> list[PolicyLine]:
    """The policy pane's content: for each rule a header (index, level, hits, share, and the
    events it writes when `written` is given: the workbench), its YAML lines numbered as in the
    file, and the problems found on those lines."""
    problems = list(problems)
    if policy is None:
        lines = [PolicyLine(Text("No policy loaded. Press p to load one.", style="italic", end=""), None, hang=2)]
        return lines + [_problem_line(problem) for problem in problems]
    source = policy.text.splitlines()
    out: list[PolicyLine] = []
    placed: set[int] = set()
    first_rule_line = min((r.line for r in policy.rules if r.line), default=len(source) + 1)
    gap_start = _leading_end(source, first_rule_line) + 1
    out.extend(_yaml_lines(source, 1, gap_start - 1, None))
    for index, rule in enumerate(policy.rules):
        header = _rule_header(index, rule.level, counts.get(index, 0), total)
        if written is not None:
            header.append(f"  {written.get(index, 0):,} written", style="dim")
        out.append(PolicyLine(header, index, True, hang=2))
        start, end = rule.line or 0, rule.end_line or rule.line or 0
        if start:
            # comments just above a rule describe it: show them under its header
            out.extend(_yaml_lines(source, gap_start, end, index))
            gap_start = end + 1
        for number, problem in enumerate(problems):
            if problem.line is not None and start <= problem.line <= end and number not in placed:
                placed.add(number)
                out.append(PolicyLine(_problem_text(problem), index, hang=_problem_hang(problem)))
    out.extend(_yaml_lines(source, gap_start, len(source), None))
    if total:
        out.append(PolicyLine(_no_match_header(counts.get(None, 0), total), None, True, hang=2))
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
        text = source[number - 1]
        line.append_text(safe(text, limit=MAX_CELL))
        lines.append(PolicyLine(line, rule, hang=GUTTER + len(text) - len(text.lstrip()) + 2))
    return lines


def _rule_header(index: int, level: str, hits: int, total: int) -> Text:
    header = Text(no_wrap=True, end="")
    header.append(f"rule #{index} ", style="bold")
    header.append_text(level_text(level))
    share = f"{100 * hits / total:.1f}%" if total else "-"
    header.append(f"  {count(hits, 'hit')}  {share}", style="bold" if hits else "dim")
    return header


def _no_match_header(hits: int, total: int) -> Text:
    share = f"{100 * hits / total:.1f}%" if total else "-"
    return Text(f"no rule matched: {count(hits, 'event')}  {share}", style="dim italic", no_wrap=True)


def _problem_text(problem: Problem) -> Text:
    line = Text("     ", no_wrap=True, end="")
    label = "error" if problem.severity == "error" else "warning"
    line.append(f"{label}: ", style=PROBLEM_STYLES.get(problem.severity, ""))
    field = f"{problem.field}: " if problem.field else ""
    line.append_text(safe(field + problem.message, limit=4 * MAX_CELL))
    return line


def _problem_hang(problem: Problem) -> int:
    """Continue under the message, past `     warning: `."""
    return GUTTER + len("error: " if problem.severity == "error" else "warning: ")


def _problem_line(problem: Problem) -> PolicyLine:
    return PolicyLine(_problem_text(problem), None, hang=_problem_hang(problem))
