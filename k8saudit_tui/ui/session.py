"""What the explorer has open: the policy, the log sources and their store, and the current view.

The one UI module that calls the engine (policy, store, query, export), so the widgets and the
screens deal in plain values (row numbers, dicts, counts) and an engine API change lands here only.
No Textual imports: this runs in worker threads as well as on the UI thread. A failure the user
must read comes out as a `SessionError` whose message and title are meant for them as they are.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import numpy as np

from k8saudit_tui.engine import runtime
from k8saudit_tui.engine.export import (
    ExportResult,
    count_masked,
    export_rows,
    redact_event,
    redact_line,
)
from k8saudit_tui.engine.export_formats import Format
from k8saudit_tui.engine.fields import FIELDS as EVENT_FIELDS
from k8saudit_tui.engine.logs.formats import BY_CODE, FormatInfo
from k8saudit_tui.engine.logs.sources import LogSource, resolve_sources
from k8saudit_tui.engine.model import Policy, Problem, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.explain import Explanation, explain
from k8saudit_tui.engine.policy.loader import PolicyLoad, load_policy_file
from k8saudit_tui.engine.policy.lost_reasons import lost_fields, reasons
from k8saudit_tui.engine.private_file import ExportError
from k8saudit_tui.engine.query import FilterError, compile_filter, look_ahead, prepare
from k8saudit_tui.engine.query.facets import Facet, FacetValue
from k8saudit_tui.engine.query.matched import TermMatch, has_fuzzy, matched_values
from k8saudit_tui.engine.query.timeline import EMPTY, Split
from k8saudit_tui.engine.query.timeline import Timeline as Timeline  # re-exported for the strip
from k8saudit_tui.engine.store import EventStore, StoreLoader, follow, unwrap_for_store
from k8saudit_tui.engine.store import source_lines as lines
from k8saudit_tui.engine.store.cache import StoreCache
from k8saudit_tui.engine.textsafe import visible
from k8saudit_tui.ui.session_views import ViewQuestions

ExportFormat = Format
ExportOutcome = ExportResult
"""What an export wrote: events, the absolute path, what was left out."""
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(Format)
"""The export formats, in the order the export dialog offers them: JSONL writes the original
lines; CSV and JSON write the columns (see the engine's export)."""
TimelineSplit = Split
EMPTY_TIMELINE = EMPTY
"""The timeline's values, for the strip (widgets import no engine query module)."""

__all__ = ["Facet", "FacetValue"]  # engine values the facet panel shows, through this door

TABLE_FIELDS: dict[str, str] = {
    field.title: field.column for field in EVENT_FIELDS if field.title is not None and not field.needs_policy
}
"""Events-list column title -> store column, for the columns read as stored (level and rule
depend on whether a policy is loaded: `row_values`)."""

SourceLine = lines.SourceLine
"""A log line read back for the problems view (engine.store.source_lines)."""
SOURCE_LINE_LIMIT = lines.SOURCE_LINE_LIMIT


class SessionError(Exception):
    """Work the user asked for failed; `str()` and `title` are what to tell them (made safe)."""

    def __init__(self, message: str, title: str) -> None:
        super().__init__(message)
        self.title = title


@dataclass
class FilterOutcome:
    """A filter's result: rows, or the error of the text (shown in the filter bar)."""

    rows: np.ndarray | None
    error: str = ""
    position: int | None = None


@dataclass
class Session(ViewQuestions):
    """The policy and the logs the app shows; built by `open_session` or by tests."""

    policy_path: str | None = None
    policy_load: PolicyLoad | None = None
    sources: list[LogSource] = field(default_factory=list)
    store: EventStore | None = None
    evaluator: PolicyEvaluator | None = None
    candidate_load: PolicyLoad | None = None
    """The policy compared with the loaded one (`--candidate`): the store evaluates events under both."""
    candidate_path: str | None = None
    cache: StoreCache | None = None
    """Where the store's index is reopened from and saved to (None: --no-cache)."""
    log_format: str | None = None
    """The logs' format when forced (--format); None: each record's is recognised."""
    export_target: tuple[ExportFormat, str] | None = None
    """Format and path of the last export asked for: the export dialog offers them again."""
    _matched: tuple[str, tuple[TermMatch, ...]] = field(default=("", ()), init=False, repr=False)
    """The latest filter's text and what its fuzzy terms matched: one tuple, swapped whole by
    the filter thread and read by the UI thread (`matched_for`)."""
    _loader: StoreLoader | None = field(default=None, init=False, repr=False)
    _ahead_problem: Problem | None = field(default=None, init=False, repr=False)
    """Why some search indexes were left to the filters (memory), when they were (`query.prepare`)."""
    _index_saved: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    """Clear from the end of a `load` until `save_index` has run (set in `__post_init__`)."""

    def __post_init__(self) -> None:
        self._index_saved.set()  # no load, no index to wait for

    @property
    def policy(self) -> Policy | None:
        """The loaded policy, None when there is none (or it failed to load)."""
        return self.policy_load.policy if self.policy_load is not None else None

    @property
    def policy_problems(self) -> tuple[Problem, ...]:
        """Validation errors and warnings of the policy."""
        return tuple(self.policy_load.problems) if self.policy_load is not None else ()

    def replace_policy(self, path: str) -> None:
        """Read the policy at `path` (`~` expanded) and re-evaluate every event under it (worker thread: it can
        take seconds). A file that is no policy raises `SessionError` and the policy in force
        stays: a broken or vanished file never leaves the app without one."""
        load = _read_policy(path)
        self._index_saved.wait()
        self._apply_policy(path, load)

    def load_candidate(self, path: str) -> None:
        """Read a candidate policy at `path` and evaluate every event under it too (a worker:
        `set_candidate` publishes the candidate's verdicts whole); a file that is no policy
        raises `SessionError` and the candidate in force, if any, stays."""
        load = _read_policy(path)
        assert load.policy is not None
        self._index_saved.wait()
        self.candidate_path, self.candidate_load = path, load
        if self.store is not None:
            self.store.set_candidate(PolicyEvaluator(load.policy))

    def _apply_policy(self, path: str, load: PolicyLoad) -> None:
        self.policy_path = path
        self.policy_load = load
        self.evaluator = PolicyEvaluator(load.policy) if load.policy is not None else None
        if self.store is not None:
            self.store.set_policy(self.evaluator)

    # ------------------------------------------------------------------ loading

    def load(self, cancel: threading.Event) -> Iterator[Any]:
        """Load every source into a new store, yielding the loader's progress after each batch;
        then build the search indexes of typed filters within the memory limit (query.prepare), so
        the first keystrokes do not (about 1 s at 1M events; headless commands build what their one
        filter needs). With `cache`, both come from the index of an earlier load when there is one
        (engine/store/cache.py), and `save_index` must follow. Cloud envelopes are unwrapped here,
        in the worker, while the store loads, unless an index of them can be reopened."""
        self.sources = unwrap_for_store(self.sources, self.log_format, self.cache)
        policy = self.candidate_load.policy if self.candidate_load else None
        candidate = PolicyEvaluator(policy) if policy else None
        loader = StoreLoader(self.sources, self.evaluator, cancel, candidate=candidate, cache=self.cache)
        self.store, self._ahead_problem = loader.store, None
        yield from loader.run(save=False)
        if not cancel.is_set():
            left = prepare(self.store, loader.memory_limit_mb)  # at once when the cache had them (reopened)
            if left and self.store.files:  # not a problem of the log: the index does not keep it
                self._ahead_problem = Problem(self.store.files[-1].name, None, "", left, "warning")
            if self.cache is not None:  # then `save_index` must follow: changes to the store wait for it
                self._loader = loader
                self._index_saved.clear()

    def save_index(self) -> None:
        """Write the index of what `load` read, with its filter indexes, when a load ran to the end
        (the explorer calls it once the screen shows everything: 0.5-0.6 s at 1M events that the
        user no longer waits for). Until it returns, what changes the store (following the logs,
        another policy or a candidate) waits (`_index_saved`): the index is never half old, half new."""
        if self._index_saved.is_set():
            return
        try:
            if self._loader is not None:
                self._loader.save_index()
            if self.cache is not None and self.store is not None:
                self.cache.save_indexes(self.store)
        finally:
            self._loader = None
            self._index_saved.set()

    def follow(self, cancel: threading.Event) -> Iterator[Any]:
        """Append events written after the load, until `cancel` is set."""
        self._index_saved.wait()
        if self.store is not None:
            yield from follow(self.store, self.sources, cancel)

    def freeze_loaded(self) -> None:
        """What is loaded now is never walked by the cycle collector again (runtime.freeze_loaded)."""
        runtime.freeze_loaded()

    def release_memory(self) -> None:
        """Collect what building the filter indexes and showing the loaded events freed; the free
        heap stays for the first keystrokes of a big log, else goes back (runtime.after_first_view)."""
        runtime.after_first_view(self.total)

    @property
    def total(self) -> int:
        """Events in the store."""
        return len(self.store) if self.store is not None else 0

    @property
    def load_problems(self) -> Sequence[Problem]:
        """Broken lines and unreadable sources."""
        problems = [s.problem for s in self.sources if s.problem is not None]
        if self.store is not None:
            problems.extend(self.store.problems)
        if self._ahead_problem is not None:
            problems.append(self._ahead_problem)
        return problems

    def distinct_values(self, column: str) -> Sequence[Any]:
        """The distinct values of a dictionary-coded store column so far (they only grow): what
        the events list measures its column widths on."""
        return self.store.values(column) if self.store is not None else ()

    def all_rows(self) -> np.ndarray:
        """Every row, in view order (by stageTimestamp, as the filter returns them)."""
        if self.store is None:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.store.view_order(), dtype=np.int64)

    # ------------------------------------------------------------------ views

    def filter_rows(self, text: str) -> FilterOutcome:
        """Rows matching `text` (every row when it is blank); any failure is the outcome's error."""
        if self.store is None:
            return FilterOutcome(np.zeros(0, dtype=np.int64))
        if not text.strip():
            return FilterOutcome(self.all_rows())
        try:
            rows = np.asarray(compile_filter(text).apply(self.store), dtype=np.int64)
        except FilterError as error:
            return FilterOutcome(None, f"{error.message}: {error.term}", error.position)
        except Exception as error:
            return FilterOutcome(None, f"{type(error).__name__}: {error}")
        return FilterOutcome(rows)

    def match_terms(self, text: str, rows: np.ndarray) -> bool:
        """What the fuzzy terms and bare words of `text` matched among its `rows`, for `matched_for`;
        whether there is any. Run after the rows are shown (a one-letter word: 8-10 ms at 1M)."""
        matched: tuple[TermMatch, ...] = ()
        if self.store is not None and text.strip():
            compiled = compile_filter(text)
            matched = matched_values(self.store, compiled, rows) if has_fuzzy(compiled) else ()
        self._matched = (text, matched)
        return bool(matched)

    def matched_for(self, text: str) -> tuple[TermMatch, ...]:
        """What the fuzzy terms and bare words of filter `text` matched, when `text` is the last
        filter run (else ()): the status line shows it."""
        last, matched = self._matched
        return matched if text and last == text else ()

    def look_ahead(self, text: str) -> None:
        """Prepare what the filter typed after `text` will likely need (query.look_ahead)."""
        if self.store is not None:
            look_ahead(self.store, text)

    def row_values(self, row: int) -> Mapping[str, object]:
        """The events-list cells of `row`: level and rule under the policy, else the recorded level."""
        assert self.store is not None
        store = self.store
        values: dict[str, object] = {name: store.value(row, source) for name, source in TABLE_FIELDS.items()}
        subresource = store.value(row, "subresource")
        if subresource:
            values["resource"] = f"{values['resource']}/{subresource}"
        if self.evaluator is None:
            values["level"] = store.value(row, "recorded")
            values["rule"] = ""
        else:
            values["level"] = store.value(row, "level")
            rule = store.value(row, "rule")
            values["rule"] = "-" if rule is None else rule if rule == "unknown" else f"#{rule}"
        if store.candidate_evaluator is not None:
            change = store.value(row, "change")
            values["change"] = "" if change == "same" else change
        return values

    def event(self, row: int) -> dict[str, Any]:
        """The full event of `row`, read back from its source."""
        assert self.store is not None
        return self.store.event(row)

    def raw(self, row: int) -> bytes:
        """The original line of `row`."""
        assert self.store is not None
        return self.store.raw(row)

    def detail_event(self, row: int, *, reveal: bool) -> tuple[dict[str, Any], int]:
        """The event of `row` for the detail pane, secrets masked as `copy_text` masks them
        unless `reveal`, and how many values masking hides (the pane says so either way)."""
        event = self.event(row)
        masked = copy.deepcopy(event)
        if not redact_event(masked):
            return event, 0
        return (event if reveal else masked), count_masked(event, masked)

    def copy_text(self, row: int, *, redact: bool) -> tuple[str, bool]:
        """The original line of `row` as text, secrets masked when `redact` (as export's
        `--redact` does), and whether anything was masked."""
        raw = self.raw(row).rstrip(b"\r\n")
        data = redact_line(raw) if redact else raw
        return data.decode("utf-8", "replace"), data != raw

    def export(self, rows: np.ndarray, fmt: Format, path: str, *, force: bool, redact: bool) -> ExportResult:
        """Write `rows` (view order) to `path` (`~` expanded) as `fmt`; the result names the file
        by its absolute path. A failure is a `SessionError` worded for the export dialog, whose
        Overwrite box is what `--force` is to the CLI. The format and path are remembered for
        the next export (`export_target`)."""
        self.export_target = (fmt, path)
        if self.store is None:
            raise SessionError("no events loaded", title="Export failed")
        target = os.path.abspath(os.path.expanduser(path))
        try:
            result = export_rows(self.store, rows, fmt, target, force=force, redact=redact)
        except ExportError as error:
            message = str(error).replace("(use --force to overwrite)", "(tick Overwrite to replace it)")
            raise SessionError(message, title="Export failed") from error
        except OSError as error:
            raise SessionError(f"{target}: {error.strerror or error}", title="Export failed") from error
        return result

    def location(self, row: int) -> str:
        """`file:line` of `row`."""
        assert self.store is not None
        name, line = self.store.location(row)
        return f"{name}:{line}"

    def verdict(self, row: int) -> Verdict | None:
        """The verdict of the current policy for `row`."""
        if self.store is None or self.evaluator is None:
            return None
        return self.store.verdict(row)

    def explanation(self, row: int) -> Explanation | None:
        """The explain trace of `row` under the current policy."""
        policy = self.policy
        if self.store is None or policy is None or self.evaluator is None:
            return None
        code = self.format_code(row)
        return explain(policy, self.store.attributes(row), lost_fields(code), reasons(code))

    def format_info(self, row: int) -> FormatInfo:
        """The format `row` came in: what the detail pane says of it (derived and lost fields)."""
        return BY_CODE[self.format_code(row)]

    def format_code(self, row: int) -> int:
        """The format `row` came in (FormatInfo.code; 0: a raw Event line)."""
        if self.store is None or row >= len(self.store.column("format")):
            return 0
        return int(self.store.column("format")[row])

    def source_lines(self, name: str, line: int, around: int = 2) -> list[SourceLine]:
        """Lines `line - around` to `line + around` of the log shown as `name` (a problem's file)."""
        if self.store is None:
            raise SessionError(f"{visible(name)} is not a loaded log", title="Cannot show the line")
        try:
            return lines.source_lines(self.store, name, line, around)
        except LookupError as problem:
            raise SessionError(visible(str(problem)), title="Cannot show the line") from None


def _read_policy(path: str) -> PolicyLoad:
    """The policy at `path` (`~` expanded); `SessionError` (made safe) when it is no policy."""
    load = load_policy_file(os.path.expanduser(path))
    if load.policy is None:
        first = next(iter(load.problems), None)
        reason = str(first) if first is not None else "not a policy"
        raise SessionError(visible(reason), title=f"Cannot use {visible(path)}")
    return load


def open_session(
    policy_path: str | None, log_paths: Sequence[str], candidate_path: str | None = None, log_format: str | None = None
) -> Session:
    """Read the policies (problems are values) and resolve the log paths (bad paths are problems);
    `log_format` forces the logs' format (--format), else each record's is recognised."""
    session = Session()
    if policy_path is not None:
        session._apply_policy(policy_path, load_policy_file(policy_path))
    if candidate_path is not None:
        session.candidate_path, session.candidate_load = candidate_path, load_policy_file(candidate_path)
    session.sources, session.log_format = resolve_sources(list(log_paths)), log_format  # unwrapped by `load`
    return session
