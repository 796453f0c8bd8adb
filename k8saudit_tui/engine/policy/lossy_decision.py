"""`lossy.outcome` over many dictionary-coded requests at once (numpy), for the store's verdicts.

Contract: `LossyDecision(evaluator, lost).decide(codes, start, stop)` gives, for requests
[start, stop) of an `AttributeCodes`, the rule (int16; -1 no rule, UNKNOWN_RULE), level (int8,
index in LEVELS, UNKNOWN_LEVEL) and per stage whether the event is omitted (int8 (n, len(STAGES)):
0 written, 1 omitted, OMIT_UNKNOWN) that `lossy.outcome` gives each request, and where an unknown
rule became unknown (the first of its possible rules: the rule that needs the lost field). Why a fast path: a
GKE log is all lossy rows, and the store decides its tens of thousands of distinct requests as
`policy.decision` does, not one walk each. Exactness is a property test against `lossy.outcome`
(tests/test_lossy.py).

How: the walk of `lossy.possible_rules`, with every row walked at once. A rule without userGroups
(or whose groups are not lost) ends the walk of the rows it matches; a group rule adds its verdict
to the rows its other predicates match where one of its groups is not yet excluded (a boolean
array per group the policy names), then excludes its groups for those rows. Each row keeps a bit
per possible level, a count of possible verdicts, and whether it could be written or omitted.
"""

from __future__ import annotations

import numpy as np

from k8saudit_tui.engine.model import LEVELS, STAGES, Verdict
from k8saudit_tui.engine.policy.decision import AttributeCodes, _compile, _Mask, _matches, _Rule
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.lossy import COMPLETE, GROUPS, LONG_RUNNING_SUBRESOURCES, STAGE, STARTED, without_groups

UNKNOWN_RULE = -2
"""The rule code of an unknown rule (-1 is no rule matched)."""
UNKNOWN_LEVEL = -2
"""The level code of an unknown level (-1 is no policy)."""
OMIT_UNKNOWN = 2
"""The omitted code of an event that may or may not be written."""

_STARTED, _COMPLETE = STAGES.index(STARTED), STAGES.index(COMPLETE)


class LossyDecision:
    """One policy's verdicts for requests whose `lost` fields are unknown (policy-relevant ones:
    `lossy.POLICY_LOST`)."""

    def __init__(self, evaluator: PolicyEvaluator, lost: frozenset[str]) -> None:
        self.lost = lost
        groups_lost = GROUPS in lost
        rules = evaluator.policy.rules
        self._groups = tuple(rule.user_groups if groups_lost else () for rule in rules)
        self._rules: tuple[_Rule, ...] = tuple(
            _compile(without_groups(rule) if groups else rule) for rule, groups in zip(rules, self._groups)
        )
        verdicts: list[Verdict] = [evaluator.verdict_of(index) for index in range(len(rules))]
        self._verdicts = (*verdicts, evaluator.verdict_of(None))  # no rule matched: last
        self._emits = np.array([[v.emits(stage) for stage in STAGES] for v in self._verdicts], bool)
        self._levels = [LEVELS.index(v.level) if v.level in LEVELS else 0 for v in self._verdicts]
        self._user = _Mask("user", lambda user: user is not None)
        self._watch = _Mask("verb", lambda verb: verb == "watch")
        self._streams = _Mask("resource", lambda key: key[2] in LONG_RUNNING_SUBRESOURCES)

    def decide(
        self, codes: AttributeCodes, start: int, stop: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """rule, level and omitted of requests [start, stop) (module docstring), and the rule at
        which each unknown rule became unknown (int16: its first possible rule; -1 when known)."""
        rows = np.arange(start, stop, dtype=np.int64)
        n = len(rows)
        walking = np.ones(n, bool)
        count = np.zeros(n, np.int32)
        first = np.full(n, -1, np.int32)
        level_bits = np.zeros(n, np.int8)
        can_write = np.zeros((n, len(STAGES)), bool)
        can_omit = np.zeros((n, len(STAGES)), bool)
        possible = self._possible_stages(codes, rows) if STAGE in self.lost else None
        has_user = self._user.at(codes, rows) if any(self._groups) else walking
        excluded: dict[str, np.ndarray] = {}
        for index, (compiled, groups) in enumerate(zip(self._rules, self._groups)):
            if not walking.any():
                break
            live = np.flatnonzero(walking)  # as policy.decision: a rule is tested on the rows still walking
            matched = np.zeros(n, bool)
            matched[live] = _matches(compiled, codes, rows[live])
            if not groups:
                add = matched
                walking = walking & ~matched
            else:
                matched &= has_user
                free = np.zeros(n, bool)
                for group in groups:
                    free |= ~excluded.get(group, np.zeros(n, bool))
                add = matched & free
                for group in groups:
                    excluded[group] = excluded.get(group, np.zeros(n, bool)) | matched
            first[add & (count == 0)] = index
            self._record(add, index, count, level_bits, can_write, can_omit, possible)
        self._record(walking, len(self._rules), count, level_bits, can_write, can_omit, possible)
        rule = np.where(count == 1, first, UNKNOWN_RULE).astype(np.int16)
        single = (level_bits & (level_bits - 1)) == 0  # one bit set
        level = np.where(single, np.log2(np.maximum(level_bits, 1)).astype(np.int8), UNKNOWN_LEVEL).astype(np.int8)
        omitted = np.where(can_write & can_omit, OMIT_UNKNOWN, can_omit).astype(np.int8)
        unknown_at = np.where(count == 1, -1, first).astype(np.int16)
        return rule, level, omitted, unknown_at

    def _possible_stages(self, codes: AttributeCodes, rows: np.ndarray) -> np.ndarray:
        """(n, len(STAGES)) bool: the stages each request's entry could have had (lossy docstring)."""
        possible = np.zeros((len(rows), len(STAGES)), bool)
        possible[:, _COMPLETE] = True
        long_running = self._watch.at(codes, rows) | (codes.resource_request[rows] & self._streams.at(codes, rows))
        possible[:, _STARTED] = long_running
        return possible

    def _record(
        self,
        rows: np.ndarray,
        verdict: int,
        count: np.ndarray,
        level_bits: np.ndarray,
        can_write: np.ndarray,
        can_omit: np.ndarray,
        possible: np.ndarray | None,
    ) -> None:
        """Add verdict number `verdict` (the no-match verdict last) to the possible ones of `rows`."""
        if not rows.any():
            return
        count[rows] += 1
        level_bits[rows] |= np.int8(1 << self._levels[verdict])
        emits = self._emits[verdict]
        if possible is None:  # the stage is exact: per stage column
            can_write[rows] |= emits
            can_omit[rows] |= ~emits
            return
        chosen = possible[rows]
        can_write[rows] |= (chosen & emits).any(axis=1)[:, None]
        can_omit[rows] |= (chosen & ~emits).any(axis=1)[:, None]
