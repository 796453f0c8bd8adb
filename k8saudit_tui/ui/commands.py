"""The command palette provider: the main screen's bindings, plus the filters ("filter to rule #N").

The actions are read from the bindings (`MainActions.BINDINGS`): a key added there is in the
palette with the same description as in the footer and the `?` screen, and there is no second
list to forget. Rule titles include the rule's level, which comes from the policy file: they are
shown as `Content` built from made-safe text (never `Matcher.highlight`, which parses markup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.screens.help_screen import key_label

if TYPE_CHECKING:
    from k8saudit_tui.ui.screens.main_screen import MainScreen


@dataclass(frozen=True, slots=True)
class Command:
    """One palette entry: what it says, what it runs, and its help line (the key, what it does)."""

    title: str
    run: Callable[[], object]
    help: str


def binding_commands(bindings: Sequence[BindingType], run: Callable[[str], object]) -> list[Command]:
    """A command per binding with a description: its title the description, its help the keys
    and the tooltip; `run(action)` runs the binding's action (`app.` ones too)."""
    commands = []
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = binding.key_display or key_label(binding.key)
        help_text = f"{keys}: {binding.tooltip}" if binding.tooltip else keys
        commands.append(Command(binding.description, _runner(run, binding.action), help_text))
    return commands


def filter_commands(screen: MainScreen) -> Iterable[Command]:
    """Show every event again, and one "filter to rule" per rule of the policy."""
    yield Command("Clear filter", lambda: screen.apply_filter(""), "show every event")
    policy = screen.session.policy
    if policy is not None:
        for index, rule in enumerate(policy.rules):
            title = f"Filter to rule #{index} ({visible(rule.level)})"
            yield Command(title, _runner(screen.apply_filter, f"rule:{index}"), f"line {rule.line}")


class ExplorerCommands(Provider):
    """The main screen's key actions, and the filters the policy suggests."""

    def _commands(self) -> list[Command]:
        from k8saudit_tui.ui.screens.main_screen import MainScreen

        screen = next((s for s in self.app.screen_stack if isinstance(s, MainScreen)), None)
        if screen is None:
            return []
        return [*binding_commands(MainScreen.BINDINGS, screen.run_action), *filter_commands(screen)]

    async def discover(self) -> Hits:
        """Every command, for the empty query."""
        for command in self._commands():
            yield DiscoveryHit(Content(command.title), command.run, text=command.title, help=command.help)

    async def search(self, query: str) -> Hits:
        """Commands whose title fuzzily matches `query`."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, Content(command.title), command.run, text=command.title, help=command.help)


def _runner(run: Callable[[str], object], argument: str) -> Callable[[], object]:
    def call() -> object:
        return run(argument)

    return call
