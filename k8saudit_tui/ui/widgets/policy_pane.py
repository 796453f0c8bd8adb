"""The policy pane: every rule as its YAML with line numbers, level, hits (with the workbench,
written events and bytes) and problems.

A Line-API list too, so a 10,000-rule policy costs no more to show than a short one. The cursor
moves from rule to rule; `enter` asks the screen to filter the events to that rule. Lines that do
not fit wrap under their own text (`wrap_policy_lines`), at each new width: nothing is cut and
nothing is off to the side, so a warning's consequence ("rule 3 now applies to every verb") is
read at 80 columns. The vertical scrollbar is always there, so the width (and the wrapping) does
not change with the number of lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.reactive import reactive
from textual.strip import Strip

from k8saudit_tui.engine.model import Policy, Problem
from k8saudit_tui.ui.messages import RuleChosen
from k8saudit_tui.ui.render.policy import PolicyLine, RuleBytes, policy_lines, wrap_policy_lines
from k8saudit_tui.ui.widgets.line_view import LineView

NO_RULE = -1
"""Cursor value of the "no rule matched" line at the end."""


class PolicyPane(LineView):
    """The rules of the loaded policy; `selected` is the rule under the cursor."""

    DEFAULT_CSS = """
    PolicyPane {
        overflow-y: scroll;
    }
    """
    COMPONENT_CLASSES = {"policy-pane--cursor", "policy-pane--event-rule"}
    PAINT_COMPONENTS = ("policy-pane--cursor", "policy-pane--event-rule")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "next_rule", "Next rule", show=False),
        Binding("up,k", "previous_rule", "Previous rule", show=False),
        Binding("home,g", "first_rule", "First rule", show=False),
        Binding("end,G", "last_rule", "Last rule", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("enter", "choose", "Filter to rule"),
    ]

    selected: reactive[int | None] = reactive(None, repaint=False, init=False)
    """Rule under the cursor (NO_RULE for the "no rule matched" line, None when no rules)."""
    event_rule: reactive[int | None] = reactive(None, repaint=False, init=False)
    """Rule that matched the selected event: highlighted, and the cursor follows it."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._source: list[PolicyLine] = []
        """The lines as built, one per YAML line, header or problem."""
        self._lines: list[PolicyLine] = []
        """The lines as laid out at `_wrapped_width`."""
        self._wrapped_width = 0
        self._headers: list[int] = []
        """Line number of each rule header (and of the no-match line, last), in order."""
        self._header_rules: list[int] = []

    def show(
        self,
        policy: Policy | None,
        counts: Mapping[int | None, int],
        total: int,
        problems: Iterable[Problem],
        written: Mapping[int | None, int] | None = None,
        sizes: RuleBytes | None = None,
        unknown: Mapping[int, int] | None = None,
    ) -> None:
        """Rebuild the lines (a new policy, or new hit counts; `written` and `sizes`: the
        workbench's written events and their bytes per rule; `unknown`: events whose rule became
        unknown at each rule, policy.lossy)."""
        self._source = policy_lines(policy, counts, total, problems, written, sizes, unknown)
        self._wrapped_width = 0
        if self.is_mounted:
            self._wrap()
        else:  # not on screen yet: laid out when it is
            self._lay_out(list(self._source), 0)
        if self.selected not in self._header_rules:
            self.set_reactive(PolicyPane.selected, self._header_rules[0] if self._header_rules else None)
        self.refresh()

    def _wrap(self) -> None:
        """Lay the lines out at the pane's width (once per content and per width)."""
        width = max(10, self.scrollable_content_region.width or 80)
        if width == self._wrapped_width:
            return
        self._wrapped_width = width
        self._lay_out(wrap_policy_lines(self._source, self.app.console, width), width)

    def _lay_out(self, lines: list[PolicyLine], width: int) -> None:
        self._lines = lines
        self.clear_lines()
        self._headers = [i for i, line in enumerate(self._lines) if line.starts_rule]
        self._header_rules = [
            NO_RULE if self._lines[i].rule is None else int(self._lines[i].rule or 0) for i in self._headers
        ]
        self.set_lines_size(width, len(self._lines))

    def on_resize(self, event: Resize) -> None:
        """A new width: wrap again, keeping the selected rule in view."""
        self._wrap()
        self._scroll_to_rule(self.selected)
        self.refresh()

    @property
    def rule_count(self) -> int:
        """Rules shown (without the "no rule matched" line)."""
        return sum(1 for rule in self._header_rules if rule != NO_RULE)

    @property
    def lines(self) -> list[str]:
        """Plain text of every line, as built (not wrapped)."""
        return [line.text.plain for line in self._source]

    @property
    def shown_lines(self) -> list[str]:
        """Plain text of every line as laid out at the pane's width."""
        return [line.text.plain for line in self._lines]

    # ------------------------------------------------------------------ cursor

    def _header_index(self) -> int:
        try:
            return self._header_rules.index(self.selected if self.selected is not None else -2)
        except ValueError:
            return 0

    def _select_header(self, index: int) -> None:
        if self._header_rules:
            self.selected = self._header_rules[max(0, min(index, len(self._header_rules) - 1))]

    def watch_selected(self, old: int | None, new: int | None) -> None:
        """Repaint the two rules' lines and bring the selected rule into view."""
        self._refresh_rules(old, new)
        self._scroll_to_rule(new)

    def watch_event_rule(self, old: int | None, new: int | None) -> None:
        """Highlight the rule of the selected event and move the cursor to it."""
        if new is not None and new in self._header_rules:
            self.selected = new
        self._refresh_rules(old, new)

    def _refresh_rules(self, *rules: int | None) -> None:
        """Repaint the visible lines of `rules` only (their tint changed): a whole screenful of
        policy costs ~10 ms of Textual's per-line pass, and it came with every detail shown."""
        top = int(self.scroll_offset.y)
        for index in range(top, min(len(self._lines), top + self.scrollable_content_region.height)):
            line = self._lines[index]
            rule = NO_RULE if line.rule is None and line.header else line.rule
            if rule is not None and rule in rules:
                self.refresh_line(index)

    def _scroll_to_rule(self, rule: int | None) -> None:
        if rule is None or rule not in self._header_rules:
            return
        header = self._headers[self._header_rules.index(rule)]
        end = self._rule_end(header)
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if header < top or end >= top + height:
            target = header if end - header + 1 > height or header < top else end - height + 1
            self.scroll_to(y=target, animate=False, immediate=True)

    def _rule_end(self, header: int) -> int:
        rule = self._lines[header].rule
        end = header
        while end + 1 < len(self._lines) and self._lines[end + 1].rule == rule and not self._lines[end + 1].starts_rule:
            end += 1
        return end

    def action_next_rule(self) -> None:
        """Cursor to the next rule."""
        self._select_header(self._header_index() + 1)

    def action_previous_rule(self) -> None:
        """Cursor to the previous rule."""
        self._select_header(self._header_index() - 1)

    def action_first_rule(self) -> None:
        """Cursor to the first rule."""
        self._select_header(0)

    def action_last_rule(self) -> None:
        """Cursor to the last line (no rule matched)."""
        self._select_header(len(self._header_rules) - 1)

    def action_choose(self) -> None:
        """Filter the events to the selected rule."""
        if self.selected is not None:
            self.post_message(RuleChosen(None if self.selected == NO_RULE else self.selected))

    # ------------------------------------------------------------------ painting

    def render_line(self, y: int) -> Strip:
        """One policy line; the selected rule and the selected event's rule are tinted."""
        self._wrap()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        styles = self.paint_styles()
        index = scroll_y + y
        if index >= len(self._lines):
            return Strip.blank(width, styles[0])
        line = self._lines[index]
        rule = NO_RULE if line.rule is None and line.header else line.rule
        tint = 0
        if rule is not None and rule == self.selected and line.header:
            tint = 1
        elif rule is not None and rule == self.event_rule:
            tint = 2
        return self.cached_line(
            (index, tint, scroll_x, width), lambda: self.text_strip(line.text, styles[tint], scroll_x, width)
        )
