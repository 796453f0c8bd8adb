"""The loaded policy's verdicts, per distinct request attributes, as one immutable value.

Why a value of its own: the UI thread reads rule/level/omitted of visible rows while another thread
re-evaluates the policy (`p`) or appends batches. Tables that were emptied and refilled in place
were read half-built (IndexError while painting). A `VerdictTable` is never changed once made:
a new policy or new attributes build a new table aside, and the store publishes it with one
reference swap, as `query.textsearch.SearchText` is shared. A reader takes the reference once and
indexes only that table; any attributes code of a published row is inside it, because the store
publishes the table before the rows that need it.

A candidate policy (the workbench: two policies, one log) gets a table of its own beside the
current one. Both live in one `Verdicts` value, swapped whole, so a reader never pairs the current
table of one moment with the candidate table of another; the change class of a row (fields.CHANGES)
is computed from the pair per (attributes code, stage) and gathered, never stored per row.

Each table decides its policy over many distinct requests at once (`policy.decision`), from the
field codes of the store's requests that `Verdicts` keeps (the one writer extends them as the
store interns requests), so a new policy or candidate costs array operations, not one
rule-by-rule evaluation per distinct request.

Rows whose format lost fields a policy reads (a GKE entry: groups and stage) take their verdict
from a `LossyTable` per lost set beside each exact table (store.lossy_tables), chosen by the row's
format code: rule, level and omitted then hold codes of their own for unknown (UNKNOWN_RULE,
UNKNOWN_LEVEL, OMIT_UNKNOWN; `omitted` is int8 then, bool while every row is exact), and change
is `unknown`. Lossy tables exist only once rows of such a format were appended: a raw log pays
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from k8saudit_tui.engine.fields import CHANGES
from k8saudit_tui.engine.model import LEVELS, STAGES, RequestAttributes, Verdict
from k8saudit_tui.engine.policy.decision import AttributeCodes, PolicyDecision
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.lossy import LOST_BY_CODE
from k8saudit_tui.engine.policy.lossy_decision import UNKNOWN_LEVEL, UNKNOWN_RULE
from k8saudit_tui.engine.store.lossy_tables import LossyTable, changes, lost_sets, row_sets

NO_RULE = -1
"""`rule` of an attributes code that no rule matched (or without a policy)."""
NO_LEVEL = -1
"""`level` without a policy."""
NO_VERDICT = Verdict(None, "None", frozenset(), False)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class VerdictTable:
    """Per attributes code: the verdict and its rule (int16), level (int8, index in LEVELS) and
    whether each stage would be omitted (bool, one column per STAGES entry). Read-only arrays."""

    evaluator: PolicyEvaluator | None
    verdicts: tuple[Verdict, ...]
    rule_of: np.ndarray
    level_of: np.ndarray
    omit_of: np.ndarray
    decision: PolicyDecision | None = None
    """The evaluator's policy compiled (policy.decision): how `extended` evaluates."""
    lossy: tuple[LossyTable, ...] = ()
    """Per lost set of `Verdicts.sets` (same order), the verdicts of rows that lost it."""

    @classmethod
    def empty(cls, evaluator: PolicyEvaluator | None) -> VerdictTable:
        return cls(
            evaluator,
            (),
            _frozen(np.empty(0, np.int16)),
            _frozen(np.empty(0, np.int8)),
            _frozen(np.empty((0, len(STAGES)), bool)),
            None if evaluator is None else PolicyDecision(evaluator.policy),
        )

    def __len__(self) -> int:
        return len(self.verdicts)

    def extended(
        self, attributes: Sequence[RequestAttributes], codes: AttributeCodes, sets: tuple[frozenset[str], ...] = ()
    ) -> VerdictTable:
        """A new table that also covers `attributes[len(self):]` (codes interned since), and a lossy
        table for each of `sets` (the lost sets of the rows so far); self if nothing is new.

        The policy decides the first matching rule of every new distinct request at once over
        their field codes (`codes`, extended here first: policy.decision), 51k distinct requests
        in a million events in ~10 ms; rows get the result by a lookup of their attributes code."""
        lossy = self._lossy_extended(attributes, codes, sets)
        done = len(self.verdicts)
        if done >= len(attributes):
            return self if lossy == self.lossy else replace(self, lossy=lossy)
        count = len(attributes) - done
        if self.evaluator is None or self.decision is None:
            verdicts: Sequence[Verdict] = (NO_VERDICT,) * count
            rules = np.full(count, NO_RULE, np.int16)
            levels = np.full(count, NO_LEVEL, np.int8)
            omits = np.zeros((count, len(STAGES)), bool)
        else:
            codes.extend(attributes)
            first = self.decision.first_rules(codes, done, len(attributes))
            evaluator = self.evaluator
            # per rule, then the no-match verdict last: what index -1 reads
            choices = [evaluator.verdict_of(i) for i in range(len(evaluator.policy.rules))]
            choices.append(evaluator.verdict_of(None))
            verdicts = list(map(choices.__getitem__, first.tolist()))
            rules = first.astype(np.int16)
            levels = np.array([_level_code(v.level) for v in choices], np.int8)[first]
            omits = np.array([[not v.emits(stage) for stage in STAGES] for v in choices], bool)
            omits = omits.reshape(len(choices), len(STAGES))[first]
        return VerdictTable(
            self.evaluator,
            self.verdicts + tuple(verdicts),
            _frozen(np.concatenate([self.rule_of, rules])),
            _frozen(np.concatenate([self.level_of, levels])),
            _frozen(np.concatenate([self.omit_of, omits])),
            self.decision,
            lossy,
        )

    def _lossy_extended(
        self, attributes: Sequence[RequestAttributes], codes: AttributeCodes, sets: tuple[frozenset[str], ...]
    ) -> tuple[LossyTable, ...]:
        """The lossy tables of `sets` over every request (the ones this table has, extended)."""
        if self.evaluator is None or not sets:
            return self.lossy
        codes.extend(attributes)
        have = {table.lost: table for table in self.lossy}
        evaluator = self.evaluator
        return tuple((have.get(lost) or LossyTable.empty(evaluator, lost)).extended(codes) for lost in sets)

    def rule(self, attr: int) -> int | None:
        """0-based rule index of an attributes code; None when no rule matched (or no policy)."""
        rule = int(self.rule_of[attr])
        return None if rule < 0 else rule

    def level(self, attr: int) -> str | None:
        """Level name of an attributes code; None without a policy."""
        level = int(self.level_of[attr])
        return None if level < 0 else LEVELS[level]

    def omitted(self, attr: int, stage: int) -> int:
        """1 when the verdict would not write this stage (index in STAGES), else 0."""
        return int(stage < len(STAGES) and bool(self.omit_of[attr, stage]))

    def column(self, name: str, attr: np.ndarray, stage: np.ndarray) -> np.ndarray:
        """rule, level or omitted for rows with attributes codes `attr` and stage codes `stage`."""
        if name == "rule":
            return self.rule_of[attr]  # type: ignore[no-any-return]
        if name == "level":
            return self.level_of[attr]  # type: ignore[no-any-return]
        if name == "unknown_at":
            return np.full(len(attr), -1, np.int16)
        known = stage < len(STAGES)
        result = np.zeros(len(attr), bool)
        result[known] = self.omit_of[attr[known], stage[known]]
        return result


def _level_code(level: str) -> int:
    try:
        return LEVELS.index(level)
    except ValueError:
        return 0


SAME, UP, DOWN, DROPPED, ADDED = (CHANGES.index(name) for name in ("same", "up", "down", "dropped", "added"))
"""Change codes: indexes in CHANGES."""

CANDIDATE_COLUMNS = ("candidate_rule", "candidate_level", "candidate_omitted", "candidate_unknown_at")
"""The candidate's verdict columns: the current ones (rule, level, omitted) under a prefix."""

VERDICT_COLUMNS = ("rule", "level", "omitted", "unknown_at", *CANDIDATE_COLUMNS, "change")
"""Every store column computed from `Verdicts`. `unknown_at` (int16): for a row whose rule is
unknown under the loaded policy, the rule that needs the field its format lost; else -1."""


@dataclass(frozen=True, slots=True)
class Verdicts:
    """The current policy's table and the candidate's, published together (one reference swap),
    the field codes of the store's distinct requests both are decided over (append-only,
    extended by the one writer, never read by readers), and the lost sets of the rows so far."""

    current: VerdictTable
    candidate: VerdictTable
    codes: AttributeCodes = field(default_factory=AttributeCodes)
    sets: tuple[frozenset[str], ...] = ()
    """The lost sets (store.lossy_tables) the appended rows' formats brought, in order of arrival."""

    @classmethod
    def empty(cls) -> Verdicts:
        return cls(VerdictTable.empty(None), VerdictTable.empty(None))

    @property
    def compared(self) -> bool:
        """Whether there are two policies to compare (else every change is `same`)."""
        return self.current.evaluator is not None and self.candidate.evaluator is not None

    def extended(self, attributes: Sequence[RequestAttributes], formats: np.ndarray | None = None) -> Verdicts:
        """Both tables extended over `attributes` (verdicts of codes interned since) and over the
        lost sets of `formats` (the format codes of the rows appended); self if none.
        The requests are coded even without a policy: then `p` and `P` only decide."""
        self.codes.extend(attributes)
        sets = self.sets + tuple(sorted(lost_sets(formats) - set(self.sets), key=sorted))
        current = self.current.extended(attributes, self.codes, sets)
        candidate = self.candidate.extended(attributes, self.codes, sets)
        if current is self.current and candidate is self.candidate and sets == self.sets:
            return self
        return Verdicts(current, candidate, self.codes, sets)

    def with_current(self, evaluator: PolicyEvaluator | None, attributes: Sequence[RequestAttributes]) -> Verdicts:
        """The current policy replaced by `evaluator`'s (None: none), decided over `attributes`."""
        current = VerdictTable.empty(evaluator).extended(attributes, self.codes, self.sets)
        return Verdicts(current, self.candidate, self.codes, self.sets)

    def with_candidate(self, evaluator: PolicyEvaluator | None, attributes: Sequence[RequestAttributes]) -> Verdicts:
        """The candidate replaced by `evaluator`'s policy (None: none), decided over `attributes`."""
        candidate = VerdictTable.empty(evaluator).extended(attributes, self.codes, self.sets)
        return Verdicts(self.current, candidate, self.codes, self.sets)

    def column(self, name: str, attr: np.ndarray, stage: np.ndarray, formats: np.ndarray | None = None) -> np.ndarray:
        """A verdict column (VERDICT_COLUMNS) of rows with attributes codes `attr`, stage codes
        `stage` and format codes `formats` (None or empty: every row exact)."""
        result = self._exact_column(name, attr, stage)
        if not self.sets or formats is None or not len(formats) or not len(attr):
            return result
        which = row_sets(formats, self.sets)
        if not (which >= 0).any():
            return result
        result = result.astype(np.int8) if name.endswith("omitted") else result.copy()
        for index in np.unique(which[which >= 0]).tolist():
            rows = np.flatnonzero(which == index)
            result[rows] = self._lossy_column(name, index, attr[rows], stage[rows])
        return result

    def _exact_column(self, name: str, attr: np.ndarray, stage: np.ndarray) -> np.ndarray:
        if name == "change":
            if not len(attr):
                return np.zeros(0, np.int8)
            table = self.change_table()
            taken: np.ndarray = table[attr, np.minimum(stage, len(STAGES))]
            return taken
        if name in CANDIDATE_COLUMNS:
            return self.candidate.column(name.removeprefix("candidate_"), attr, stage)
        return self.current.column(name, attr, stage)

    def _lossy_column(self, name: str, index: int, attr: np.ndarray, stage: np.ndarray) -> np.ndarray:
        """A verdict column of rows of lost set `index` (their tables exist for every policy)."""
        if name == "change":
            if not self.compared:
                return np.zeros(len(attr), np.int8)
            current, candidate = self.current.lossy[index], self.candidate.lossy[index]
            return changes(
                current.column("level", attr, stage),
                current.column("omitted", attr, stage),
                candidate.column("level", attr, stage),
                candidate.column("omitted", attr, stage),
            )
        table = self.candidate if name in CANDIDATE_COLUMNS else self.current
        if table.evaluator is None:  # no policy: the exact table's "no policy" values
            return table.column(name.removeprefix("candidate_"), attr, stage)
        return table.lossy[index].column(name.removeprefix("candidate_"), attr, stage)

    def value(self, name: str, attr: int, stage: int, format_code: int = 0) -> str | int | None:
        """One row's value of a verdict column: rule (None: no rule matched, "unknown"), level
        (None without the policy, "unknown"), omitted (0/1, 2 unknown), change (a CHANGES name),
        unknown_at (-1: known)."""
        if format_code and format_code < len(LOST_BY_CODE) and LOST_BY_CODE[format_code] in self.sets:
            got = int(self.column(name, np.array([attr]), np.array([stage]), np.array([format_code], np.uint8))[0])
            if name == "change":
                return CHANGES[got]
            if name.endswith("rule"):
                return "unknown" if got == UNKNOWN_RULE else None if got < 0 else got
            if name.endswith("level"):
                return "unknown" if got == UNKNOWN_LEVEL else None if got < 0 else LEVELS[got]
            return got
        if name == "change":
            return CHANGES[int(self.change_table(np.array([attr]))[0, min(stage, len(STAGES))])]
        if name.endswith("unknown_at"):
            return -1
        table = self.candidate if name in CANDIDATE_COLUMNS else self.current
        name = name.removeprefix("candidate_")
        if name == "rule":
            return table.rule(attr)
        if name == "level":
            return table.level(attr)
        return table.omitted(attr, stage)

    def change_table(self, codes: np.ndarray | None = None) -> np.ndarray:
        """Per attributes code (`codes`, default all) and stage code (STAGES, then one column for
        any other stage, which is never omitted: as `VerdictTable.column`) the change code; all
        SAME without two policies. "Written" is what `written:` means: not omitted (level None
        omits every stage)."""
        if codes is None:
            codes = np.arange(min(len(self.current), len(self.candidate)))
        changes = np.full((len(codes), len(STAGES) + 1), SAME, np.int8)
        if not self.compared or not len(codes):
            return changes
        other = np.zeros((len(codes), 1), bool)
        written = ~np.hstack([self.current.omit_of[codes], other])
        candidate_written = ~np.hstack([self.candidate.omit_of[codes], other])
        level = self.current.level_of[codes, None]
        candidate_level = self.candidate.level_of[codes, None]
        both = written & candidate_written
        changes[both & (candidate_level > level)] = UP
        changes[both & (candidate_level < level)] = DOWN
        changes[written & ~candidate_written] = DROPPED
        changes[~written & candidate_written] = ADDED
        return changes
