"""The `!` screen: every problem of the loaded logs (broken lines, unreadable files), and the line.

The status line counts problems; this is where they are read. They are grouped by reason (the
problem's message, without its file:line part) with counts, most frequent first, each listed
with file, line and field; `enter` reads the line and its neighbours back through the session,
in a worker (a file on a slow disk never freezes the UI). Everything shown came from a log: it
goes through `render.safe` (control characters visible, never markup), and a line is cut at the
session's bound with a note. The list is bounded too: a hostile log can have a million problems.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from k8saudit_tui.engine.model import Problem
from k8saudit_tui.ui import render
from k8saudit_tui.ui.session import Session, SourceLine

MAX_LISTED = 2000
"""Problems listed at most (the groups' counts still count them all)."""
AROUND = 2
"""Lines shown before and after the problem's line."""


def grouped(problems: Sequence[Problem]) -> list[tuple[str, list[Problem]]]:
    """(reason, its problems) for every reason, the most frequent first (then by reason)."""
    groups: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        groups[problem.message].append(problem)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def problem_text(problem: Problem) -> Text:
    """`file:line  field` of one problem (its reason is its group's heading)."""
    where = f"{problem.file}:{problem.line}" if problem.line is not None else problem.file
    text = render.safe(where)
    if problem.field:
        text.append("  ")
        text.append_text(render.safe(problem.field, "italic"))
    return text


def lines_text(lines: Sequence[SourceLine], line: int) -> Text:
    """The lines read back, numbered, the problem's line marked; cut lines say by how much."""
    text = Text(end="")
    for number, source in enumerate(lines):
        if number:
            text.append("\n")
        marker = ">" if source.number == line else " "
        text.append(f"{marker}{source.number:>7} ", style="bold red" if marker == ">" else "dim")
        text.append_text(render.safe(source.text))
        if source.cut:
            text.append(f" … ({source.cut:,} more bytes not shown)", style="italic yellow")
    return text


@dataclass
class LinesRead(Message):
    """A worker read the lines around a problem (or failed to: `error`)."""

    index: int
    content: Text


class ProblemsScreen(ModalScreen[None]):
    """The problems grouped by reason; `enter` shows a problem's line; `escape` closes."""

    DEFAULT_CSS = """
    ProblemsScreen { align: center middle; }
    #problems-box { width: 95%; height: 90%; border: round $error; background: $surface; }
    #problems-list { height: 1fr; border: none; }
    #problem-lines { height: auto; max-height: 50%; border-top: solid $primary-background; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "show_line", "Show the line and the lines around it", priority=True),
        Binding("j", "list_down", "Next problem", show=False),
        Binding("k", "list_up", "Previous problem", show=False),
        Binding("escape,exclamation_mark", "close", "Close", key_display="esc"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(id="problems")
        self._session = session
        self._problems = list(session.load_problems)
        self._shown = -1

    @property
    def problems(self) -> Sequence[Problem]:
        """Every problem, as the session reports them."""
        return self._problems

    def compose(self) -> ComposeResult:
        """A heading, the grouped list, and the lines of the chosen problem (once chosen)."""
        with Vertical(id="problems-box"):
            yield Static(self._heading(), id="problems-heading")
            yield OptionList(*self._options(), id="problems-list")
            yield Static("", id="problem-lines")

    def on_mount(self) -> None:
        """Start on the first problem."""
        self.query_one("#problem-lines").display = False
        listed = self.option_list
        listed.focus()
        first = next((i for i in range(listed.option_count) if not listed.get_option_at_index(i).disabled), None)
        listed.highlighted = first

    def _heading(self) -> Text:
        count = len(self._problems)
        if not count:
            return Text("No problems: every line was read.", style="bold green")
        text = Text(f"{count:,} problems", style="bold red")
        if count > MAX_LISTED:
            text.append(f"  (the first {MAX_LISTED:,} of them listed)", style="italic")
        text.append("  enter: the line · esc: close", style="dim")
        return text

    def _options(self) -> list[Option]:
        index = {id(problem): position for position, problem in enumerate(self._problems)}
        listed: list[Problem] = []
        options: list[Option] = []
        for reason, problems in grouped(self._problems):
            heading = Text(f"{len(problems):,} × ", style="bold")
            heading.append_text(render.safe(reason, "bold red"))
            options.append(Option(heading, disabled=True))
            for problem in problems:
                if len(listed) >= MAX_LISTED:
                    break
                listed.append(problem)
                options.append(Option(Text("  ").append_text(problem_text(problem)), id=str(index[id(problem)])))
        return options

    @property
    def option_list(self) -> OptionList:
        """The list of problems."""
        return self.query_one("#problems-list", OptionList)

    @property
    def lines_shown(self) -> str:
        """The text of the lines shown now ("" before `enter`): for tests."""
        return str(self.query_one("#problem-lines", Static).render()) if self._shown >= 0 else ""

    def action_show_line(self) -> None:
        """`enter`: read the highlighted problem's line and its neighbours."""
        listed = self.option_list
        if listed.highlighted is None:
            return
        option_id = listed.get_option_at_index(listed.highlighted).id
        if option_id is None:
            return
        problem = self._problems[int(option_id)]
        if problem.line is None:
            self._show(int(option_id), Text("The whole file: no line to show.", style="italic"))
            return
        self._read(int(option_id), problem)

    @work(thread=True, exclusive=True, group="problem-lines", exit_on_error=False)
    def _read(self, index: int, problem: Problem) -> None:
        assert problem.line is not None
        try:
            content = lines_text(self._session.source_lines(problem.file, problem.line, AROUND), problem.line)
        except Exception as error:  # a file gone or unreadable: said in place of the lines
            content = render.safe(f"cannot read the line: {error}", "red")
        self.post_message(LinesRead(index, content))

    @on(LinesRead)
    def _on_lines_read(self, message: LinesRead) -> None:
        self._show(message.index, message.content)

    def _show(self, index: int, content: Text) -> None:
        self._shown = index
        lines = self.query_one("#problem-lines", Static)
        lines.update(content)
        lines.display = True

    def action_list_down(self) -> None:
        """`j`: next problem."""
        self.option_list.action_cursor_down()

    def action_list_up(self) -> None:
        """`k`: previous problem."""
        self.option_list.action_cursor_up()

    def action_close(self) -> None:
        """Back to the explorer."""
        self.dismiss(None)
