"""The command palette provider: the same actions as the keys, plus "filter to rule #N".

Rule titles include the rule's level, which comes from the policy file: they are shown as
`Content` built from made-safe text (never `Matcher.highlight`, which parses markup).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from k8saudit_tui.engine.textsafe import visible

ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Filter events", "focus_filter", "Focus the filter bar (/)"),
    ("Clear filter", "clear_filter", "Show every event"),
    ("Next event of the same rule", "next_same_rule", "n"),
    ("Previous event of the same rule", "previous_same_rule", "N"),
    ("Next rule with hits", "next_rule", "]"),
    ("Previous rule with hits", "previous_rule", "["),
    ("Export the current view", "export", "e: JSONL, CSV or JSON"),
    ("Copy the selected event as JSON, secrets masked", "copy_event", "c: OSC 52 clipboard"),
    ("Copy the selected event raw (secrets not masked)", "copy_raw_event", "C: exactly as logged"),
    ("Load another policy", "open_policy", "p: re-evaluates every event"),
    ("Collapse stages of one request", "toggle_collapse", "s: one row per auditID"),
    ("Zoom the focused pane", "zoom", "z"),
    ("Show all keys", "help", "?"),
)
"""(title, main-screen action, help) for every palette command."""


class ExplorerCommands(Provider):
    """Actions of the main screen, and one "filter to rule" command per rule of the policy."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from k8saudit_tui.ui.screens.main_screen import MainScreen

        screen = next((s for s in self.app.screen_stack if isinstance(s, MainScreen)), None)
        if screen is None:
            return []
        commands: list[tuple[str, Callable[[], object], str]] = [
            (title, _runner(screen, action), help_text) for title, action, help_text in ACTIONS
        ]
        policy = screen.session.policy
        if policy is not None:
            for index, rule in enumerate(policy.rules):
                title = f"Filter to rule #{index} ({visible(rule.level)})"
                commands.append((title, _filter_runner(screen, f"rule:{index}"), f"line {rule.line}"))
        commands.append(("Quit", self.app.exit, "q"))
        return commands

    async def discover(self) -> Hits:
        """Every command, for the empty query."""
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        """Commands whose title fuzzily matches `query`."""
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, Content(title), callback, text=title, help=help_text)


def _runner(screen: object, action: str) -> Callable[[], object]:
    def run() -> object:
        return getattr(screen, f"action_{action}")()

    return run


def _filter_runner(screen: object, text: str) -> Callable[[], object]:
    def run() -> object:
        return screen.apply_filter(text)

    return run
