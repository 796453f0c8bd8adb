"""The verdicts of rows whose format lost fields a policy reads: per lost set, a table beside the
exact one, and how the store's per-row format code chooses between them.

Contract: `LossyTable` holds, per attributes code, what `policy.lossy_decision` decides for one
lost set (rule int16 with UNKNOWN_RULE, level int8 with UNKNOWN_LEVEL, omitted int8 (n, STAGES)
with OMIT_UNKNOWN, and the rule an unknown became unknown at); immutable, extended into a new
value as `VerdictTable` is. `lost_sets(formats)` names the lost sets the format codes of some rows
bring (raw and exact envelopes bring none, so a raw log builds no lossy table and pays nothing);
`row_sets(formats, sets)` maps rows to the index of their lost set (-1: exact). `changes` is the
change class (fields.CHANGES) of rows from both policies' values, `unknown` when either side's
written, or (both written) level, is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k8saudit_tui.engine.fields import CHANGES
from k8saudit_tui.engine.model import STAGES
from k8saudit_tui.engine.policy.decision import AttributeCodes
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.lossy import LOST_BY_CODE, STAGE
from k8saudit_tui.engine.policy.lossy_decision import OMIT_UNKNOWN, UNKNOWN_LEVEL, LossyDecision

SAME, UP, DOWN, DROPPED, ADDED, UNKNOWN_CHANGE = (
    CHANGES.index(name) for name in ("same", "up", "down", "dropped", "added", "unknown")
)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class LossyTable:
    """One policy's verdicts, per attributes code, for rows that lost `lost` (module docstring)."""

    lost: frozenset[str]
    decision: LossyDecision
    rule_of: np.ndarray
    level_of: np.ndarray
    omit_of: np.ndarray
    unknown_at: np.ndarray

    @classmethod
    def empty(cls, evaluator: PolicyEvaluator, lost: frozenset[str]) -> LossyTable:
        return cls(
            lost,
            LossyDecision(evaluator, lost),
            _frozen(np.empty(0, np.int16)),
            _frozen(np.empty(0, np.int8)),
            _frozen(np.empty((0, len(STAGES)), np.int8)),
            _frozen(np.empty(0, np.int16)),
        )

    def extended(self, codes: AttributeCodes) -> LossyTable:
        """A table that also covers the requests coded since (self if none)."""
        done = len(self.rule_of)
        if done >= len(codes):
            return self
        rule, level, omitted, unknown_at = self.decision.decide(codes, done, len(codes))
        return LossyTable(
            self.lost,
            self.decision,
            _frozen(np.concatenate([self.rule_of, rule])),
            _frozen(np.concatenate([self.level_of, level])),
            _frozen(np.concatenate([self.omit_of, omitted])),
            _frozen(np.concatenate([self.unknown_at, unknown_at])),
        )

    def column(self, name: str, attr: np.ndarray, stage: np.ndarray) -> np.ndarray:
        """rule, level, omitted or unknown_at of rows with these attributes and stage codes (a stage
        outside STAGES is never omitted, as in the exact table; a lost stage is not read)."""
        if name == "rule":
            return self.rule_of[attr]  # type: ignore[no-any-return]
        if name == "level":
            return self.level_of[attr]  # type: ignore[no-any-return]
        if name == "unknown_at":
            return self.unknown_at[attr]  # type: ignore[no-any-return]
        if STAGE in self.lost:  # the row's stage is a guess: every column holds the same answer
            return self.omit_of[attr, 0]  # type: ignore[no-any-return]
        known = stage < len(STAGES)
        result = np.zeros(len(attr), np.int8)
        result[known] = self.omit_of[attr[known], stage[known]]
        return result


def lost_sets(formats: np.ndarray | None) -> set[frozenset[str]]:
    """The non-empty lost sets of these rows' format codes."""
    if formats is None or not len(formats):
        return set()
    present = np.flatnonzero(np.bincount(formats, minlength=len(LOST_BY_CODE))).tolist()
    return {LOST_BY_CODE[code] for code in present if code < len(LOST_BY_CODE) and LOST_BY_CODE[code]}


def row_sets(formats: np.ndarray, sets: tuple[frozenset[str], ...]) -> np.ndarray:
    """Per row, the index in `sets` of its format's lost set; -1 for an exact row."""
    table = np.array([sets.index(lost) if lost in sets else -1 for lost in LOST_BY_CODE], np.int8)
    return table[formats]  # type: ignore[no-any-return]


def changes(
    level: np.ndarray, omitted: np.ndarray, candidate_level: np.ndarray, candidate_omitted: np.ndarray
) -> np.ndarray:
    """The change code of rows from each side's level and omitted (OMIT_UNKNOWN / UNKNOWN_LEVEL)."""
    written, candidate_written = omitted == 0, candidate_omitted == 0
    result = np.full(len(level), SAME, np.int8)
    both = written & candidate_written
    result[both & (candidate_level > level)] = UP
    result[both & (candidate_level < level)] = DOWN
    result[both & ((level == UNKNOWN_LEVEL) | (candidate_level == UNKNOWN_LEVEL))] = UNKNOWN_CHANGE
    result[written & (candidate_omitted == 1)] = DROPPED
    result[(omitted == 1) & candidate_written] = ADDED
    result[(omitted == OMIT_UNKNOWN) | (candidate_omitted == OMIT_UNKNOWN)] = UNKNOWN_CHANGE
    return result
