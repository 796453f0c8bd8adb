"""The detail pane's lines for an event that did not come as a raw Event line: where it came
from and what its format derived or lost, and a verdict that says what those losses leave unknown.

Contract: `provenance_line(info)` is None for a raw Event line (no info, or format `raw`) and
otherwise one line naming the format, how the Event was obtained (unwrapped: its own text;
reconstructed: rebuilt) and the fields derived and lost (the engine's `formats.FormatInfo`, which
the session hands over: render imports no engine log reading). `outcome_lines` words an
`Explanation` whose format lost fields (policy.lossy) as the verdict lines do, with `unknown`
and the reason where the lost fields decide. No Textual here (built in a worker thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.text import Text

from k8saudit_tui.engine.policy.explain import Explanation
from k8saudit_tui.engine.policy.lossy import STAGE, UNKNOWN
from k8saudit_tui.ui.render import level_text, safe
from k8saudit_tui.ui.render.detail import LABEL_WIDTH, HeadLine, verdict_lines

_HOW = {
    "unwrapped": "unwrapped: the Event's own text",
    "reconstructed": "reconstructed: no Event inside, rebuilt from the entry",
}


class FormatLike(Protocol):
    """What the line reads of a format (`engine.logs.formats.FormatInfo`)."""

    @property
    def label(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def provenance(self) -> str: ...
    @property
    def lost(self) -> Sequence[str]: ...
    @property
    def derived(self) -> Sequence[str]: ...


def provenance_line(info: FormatLike | None) -> HeadLine | None:
    """Where a non-raw event came from and what its format derived and lost; None for raw."""
    if info is None or info.provenance == "raw":
        return None
    line = Text(end="")
    line.append(f"{'Format':>10}: ", style="bold")
    words = f"{info.provider}, {info.label}; {_HOW.get(info.provenance, info.provenance)}"
    if info.derived:
        words += f"; derived: {', '.join(info.derived)}"
    if info.lost:
        words += f"; lost: {', '.join(info.lost)}"
    line.append_text(safe(words))
    return line, LABEL_WIDTH


def outcome_lines(explanation: Explanation, stage: str, recorded_level: str = "") -> list[HeadLine]:
    """The verdict of an event whose format lost fields: the plain verdict lines when they decide
    nothing, else rule, level and written with `unknown` where the lost fields decide them."""
    got = explanation.outcome
    if got is None:
        return verdict_lines(explanation.verdict, stage, recorded_level)
    written = got.written(stage)
    if got.known and written is not None:
        return verdict_lines(got.verdicts[0], " or ".join(got.stages) or stage, recorded_level)
    line = Text(end="")
    line.append(f"{'Verdict':>10}: ", style="bold")
    if got.known:
        rule = got.verdicts[0].rule
        line.append("no rule matched" if rule is None else f"rule #{rule}")
    else:
        choices = " or ".join("no rule" if v.rule is None else f"#{v.rule}" for v in got.verdicts)
        line.append("unknown", style="bold yellow")
        line.append(f" (rule {choices})")
    line.append(", level ")
    if got.level == UNKNOWN:
        line.append("unknown", style="bold yellow")
    else:
        line.append_text(level_text(got.level))
    second = Text(end="")
    second.append(f"{'Written':>10}: ", style="bold")
    if written is None:
        second.append("unknown", style="bold yellow")
        reasons = explanation.reasons or {}
        why = reasons.get(STAGE) if any(len({v.emits(s) for s in got.stages}) > 1 for v in got.verdicts) else None
        second.append_text(safe(f" (cannot evaluate: {why})" if why else " (it depends on the unknown rule)"))
    else:
        second.append("yes" if written else "no", style="green" if written else "red")
        second.append(" whichever rule decides it")
    return [(line, LABEL_WIDTH), (second, LABEL_WIDTH)]
