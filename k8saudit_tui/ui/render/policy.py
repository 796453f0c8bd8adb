"""The policy pane's lines: each rule's header (level, hits, share; with the workbench the
events it writes, their bytes and their share of the bytes), its YAML, its problems.

Lines carry the rule they belong to, so the pane can move its cursor and tint by rule without
parsing its own text back, and their hanging indent: the pane wraps what does not fit (a YAML
line, a warning whose consequence is at its end) under its own text, past the line numbers and
the YAML indentation, rather than cutting it or scrolling sideways (`wrap_policy_lines`). A rule
header also carries a short form (`#3 Metadata 1.2k hits 12% 1.0k wr 3.8 MB 41%`) in parts that
the pane uses when the full one does not fit its width: the numbers shrink before anything wraps,
and what still does not fit wraps between parts (`1.0k wr` never splits). Styles are weight and
dimness only (NO_COLOR safe).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.ui.render import MAX_CELL, PROBLEM_STYLES, count, level_text, safe
from k8saudit_tui.ui.render.sizes import byte_size, percent, short_count
from k8saudit_tui.ui.render.wrap import hanging_wrap

GUTTER = 5
"""`{number:>4} `: the YAML starts in this column."""


@dataclass(frozen=True, slots=True)
class RuleBytes:
    """What one policy writes per rule (0-based index) in bytes, over the loaded events: the
    bytes `apply` writes (the engine's cost); `lower_bound` when some were recorded below the
    policy's level, so the true figures are higher."""

    by_rule: Mapping[int, int]
    total: int
    lower_bound: bool = False

    def text(self, rule: int) -> str:
        """`3.8 MB`, `≥3.8 MB` when a lower bound (a rule that writes nothing writes 0 B)."""
        size = self.by_rule.get(rule, 0)
        return ("≥" if self.lower_bound and size else "") + byte_size(size)


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
    short: tuple[Text, ...] = ()
    """A shorter form of the same line in parts, shown when `text` does not fit (rule headers)."""

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
        pieces = _pack(line.short, width, line.hang) if line.short else [line.text]
        first, *rest = [wrapped for piece in pieces for wrapped in hanging_wrap(piece, console, width, line.hang)]
        out.append(PolicyLine(first, line.rule, line.header, line.hang))
        out.extend(PolicyLine(piece, line.rule, line.header, line.hang, continues=True) for piece in rest)
    return out


def _pack(parts: tuple[Text, ...], width: int, hang: int) -> list[Text]:
    """`parts` joined by spaces into lines of at most `width` cells, the lines after the first
    indented by `hang`; a part longer than a line is left to wrap on its own."""
    lines = [parts[0].copy()]
    for part in parts[1:]:
        if lines[-1].cell_len + 1 + part.cell_len <= width:
            lines[-1].append(" ")
            lines[-1].append_text(part)
        else:
            lines.append(Text.assemble(" " * hang, part, end=""))
    return lines


def policy_lines(
    policy: Policy | None,
    counts: Mapping[int | None, int],
    total: int,
    problems: Iterable[Problem],
    written: Mapping[int | None, int] | None = None,
    sizes: RuleBytes | None = None,
    unknown: Mapping[int, int] | None = None,
) -> list[PolicyLine]:
    """The policy pane's content: for each rule a header (index, level, hits, share, and the
    events it writes when `written` is given, their bytes and share of the bytes with `sizes`:
    the workbench; with `unknown`, the events whose rule became unknown at it because their
    format lost a field it reads, policy.lossy), its YAML lines numbered as in the file, and the
    problems on those lines."""
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
        hits = counts.get(index, 0)
        header, short = _rule_header(index, rule.level, hits, total), _short_header(index, rule.level, hits, total)
        if unknown and unknown.get(index):
            header.append(f"  {unknown[index]:,} unknown", style="italic")
            short.append(Text(f"{short_count(unknown[index])} unk", style="italic", end=""))
        if written is not None:
            header.append(f"  {written.get(index, 0):,} written", style="dim")
            short.append(Text(f"{short_count(written.get(index, 0))} wr", style="dim", end=""))
        if sizes is not None:
            size = sizes.by_rule.get(index, 0)
            style = "bold" if size else "dim"
            header.append(f"  {sizes.text(index)}  {percent(size, sizes.total)} of bytes", style=style)
            short.append(Text(f"{sizes.text(index)} {percent(size, sizes.total, 0)}", style=style, end=""))
        out.append(PolicyLine(header, index, True, hang=2, short=tuple(short)))
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


def _short_header(index: int, level: str, hits: int, total: int) -> list[Text]:
    """The header in short numbers and in parts, for a pane too narrow for the full one."""
    title = Text(f"#{index} ", style="bold", end="")
    title.append_text(level_text(level))
    noun = "hit" if hits == 1 else "hits"
    return [
        title,
        Text(f"{short_count(hits)} {noun} {percent(hits, total, 0)}", style="bold" if hits else "dim", end=""),
    ]


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
