"""Evaluating a policy for an event whose format lost fields the checker reads: a verdict, or
"unknown" where the lost fields could decide it (issue 14, cloud-formats.md §2.5 and §6).

Contract: `outcome(evaluator, attrs, lost)` gives every verdict the checker could have reached for
`attrs` given the fields in `lost` (dotted Event names, `FormatInfo.lost`), and `Outcome` answers
rule, level and written as a value, or UNKNOWN when two completions of the lost fields give two
answers. With nothing policy-relevant lost it is `evaluator.evaluate(attrs)` and nothing else, so a
raw log pays nothing. The store decides the same over many requests at once with numpy
(`lossy_decision`); tests/test_lossy.py holds both to a brute-force reference over completions.

What is read of what is lost:
- `user.groups` (M6): walking the rules in order as the checker does, a rule whose other predicates
  match and that names `userGroups` may or may not match. It is a possible verdict when some group
  it names is not named by an earlier such rule (a completion can hold that group and none of the
  earlier ones), and the walk goes on (a completion without its groups does not match it). A rule
  without `userGroups` whose predicates match ends the walk: an earlier rule that decides the event
  makes the verdict known. A request without a user never matches `userGroups` (M6), lost or not.
  `user.uid` and `user.extra` are read by no rule.
- `stage` (S5, M13): a GKE entry is one per request, with no stage. Its possible stages are
  ResponseComplete, and ResponseStarted too for a long-running request (a watch, or the exec,
  attach, portforward and proxy subresources), as the reader's heuristic and falco do. Never
  RequestReceived: the policy GKE applies (configure-helper, §6) has `omitStages: RequestReceived`
  throughout, so no entry GKE exports is a RequestReceived event. Not Panic: the apiserver writes
  Panic only when its handler panicked, an exception GKE's one entry per request does not mark
  (it reads as a 5xx response); counting it would make every entry unknown under a policy that
  omits Panic. Whether the event is written is unknown when, over the possible verdicts
  and stages, it would be written in one and omitted in another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal

from k8saudit_tui.engine.logs.formats import BY_CODE
from k8saudit_tui.engine.model import Policy, PolicyRule, RequestAttributes, Verdict
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator, rule_matches

GROUPS: Final = "user.groups"
STAGE: Final = "stage"
POLICY_LOST: Final = frozenset({GROUPS, STAGE})
"""The lost fields a policy can read (uid, extra, impersonation and the URI's query it never does)."""

UNKNOWN: Final = "unknown"
Unknown = Literal["unknown"]

LONG_RUNNING_SUBRESOURCES: Final = frozenset({"exec", "attach", "portforward", "proxy"})
STARTED: Final = "ResponseStarted"
COMPLETE: Final = "ResponseComplete"


def policy_lost(lost: Iterable[str]) -> frozenset[str]:
    """The part of a format's lost fields that can change a verdict."""
    return POLICY_LOST.intersection(lost)


LOST_BY_CODE: tuple[frozenset[str], ...] = tuple(policy_lost(info.lost) for info in BY_CODE)
"""Per format code (the store's `format` column, a spool's `Origin.formats`), the fields it lost
that a policy reads: empty for every format that carries the Event's own text."""


def possible_stages(attrs: RequestAttributes) -> tuple[str, ...]:
    """The stages an entry without one could have been (module docstring): ResponseStarted only
    for long-running requests."""
    long_running = attrs.verb == "watch" or (attrs.resource_request and attrs.subresource in LONG_RUNNING_SUBRESOURCES)
    return (STARTED, COMPLETE) if long_running else (COMPLETE,)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdicts the checker could have reached (in rule order, at least one), and the stages the
    event could have had (empty: its recorded stage is exact)."""

    verdicts: tuple[Verdict, ...]
    stages: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """Whether the lost fields did not matter for the verdict."""
        return len(self.verdicts) == 1

    @property
    def rule(self) -> int | Unknown | None:
        """The matching rule (None: no rule), or UNKNOWN."""
        return self.verdicts[0].rule if self.known else UNKNOWN

    @property
    def level(self) -> str:
        """The level (a LEVELS name), or UNKNOWN when two possible verdicts have two levels."""
        levels = {verdict.level for verdict in self.verdicts}
        return levels.pop() if len(levels) == 1 else UNKNOWN

    def written(self, stage: str) -> bool | None:
        """Whether the event (recorded at `stage`, which is ignored when the stage is lost) would be
        written; None when unknown."""
        stages = self.stages or (stage,)
        answers = {verdict.emits(s) for verdict in self.verdicts for s in stages}
        return answers.pop() if len(answers) == 1 else None


def outcome(evaluator: PolicyEvaluator, attrs: RequestAttributes, lost: frozenset[str]) -> Outcome:
    """Every verdict `evaluator`'s policy could give `attrs` when the fields in `lost` are unknown
    (module docstring). The plain path the store's `lossy_decision` is tested against."""
    stages = possible_stages(attrs) if STAGE in lost else ()
    if GROUPS not in lost:
        return Outcome((evaluator.evaluate(attrs),), stages)
    return Outcome(tuple(evaluator.verdict_of(rule) for rule in possible_rules(evaluator.policy, attrs)), stages)


def possible_rules(policy: Policy, attrs: RequestAttributes) -> list[int | None]:
    """The rules (None: no rule) the checker could reach for `attrs` when the user's groups are
    unknown, in order: the walk of the module docstring."""
    possible: list[int | None] = []
    excluded: set[str] = set()
    for index, rule in enumerate(policy.rules):
        if not rule.user_groups:
            if rule_matches(rule, attrs):
                possible.append(index)
                return possible
            continue
        if attrs.username is None or not rule_matches(without_groups(rule), attrs):
            continue
        if not excluded.issuperset(rule.user_groups):
            possible.append(index)
        excluded.update(rule.user_groups)
    possible.append(None)
    return possible


def without_groups(rule: PolicyRule) -> PolicyRule:
    """`rule` minus its userGroups: its other predicates (a group rule still needs a user, M6)."""
    return replace(rule, user_groups=())
