"""Policy validation exactly as kube-apiserver's `ValidatePolicy` (V1-V7).

Mirrors `pkg/apis/audit/validation/validation.go`: every error is reported (not just the first),
with upstream's field paths (errors inside `resources` carry no index: `rules[2].resources.group`)
and upstream's `field.Error` texts (`Required value`, `Invalid value: "x": ...`,
`Unsupported value: "x": supported values: ...`). Each Problem also carries the source line of the
offending field, taken from the rule's `field_lines` that the loader fills in.

V7 (users, userGroups, verbs, namespaces, resourceNames and the strings inside `resources` are not
checked) is honoured by checking nothing else; the zero-rule check (L5) belongs to the loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from k8saudit_tui.engine.model import LEVELS, STAGES, GroupResources, Policy, PolicyRule, Problem
from k8saudit_tui.engine.policy.goquote import go_quote, go_string_slice
from k8saudit_tui.engine.policy.source import policy_field_lines

ALLOWED_STAGES_DETAIL = "allowed stages are " + ",".join(STAGES)
SUPPORTED_LEVELS_DETAIL = "supported values: " + ", ".join(f'"{level}"' for level in LEVELS)
MIXED_DETAIL = "rules cannot apply to both regular resources and non-resource URLs"
URL_SLASH_DETAIL = "non-resource URL rules must begin with a '/' character"
URL_WILDCARD_DETAIL = "non-resource URL wildcards '*' must be the final character of the rule"
RESOURCE_NAMES_DETAIL = "using resourceNames requires at least one resource"

DNS1123_SUBDOMAIN_MAX = 253
_DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT, re.ASCII)
DNS1123_SUBDOMAIN_DETAIL = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.',"
    " and must start and end with an alphanumeric character (e.g. 'example.com', regex used for"
    f" validation is '{_DNS1123_SUBDOMAIN_FMT}')"
)


def validate_policy(policy: Policy, lines: Mapping[str, int] | None = None) -> list[Problem]:
    """All `ValidatePolicy` errors of `policy`, in upstream order (L4).

    `lines` maps policy-level field paths (`omitStages[0]`) to source lines; the loader passes it.
    Without it, those lines are recovered from `policy.text` when a policy-level error needs one.
    Rule-level lines come from each rule's `field_lines`.
    """
    errors: list[Problem] = []
    bad_stages = _omit_stage_errors(policy.omit_stages, "", policy.source, lines or {}, None)
    if bad_stages and lines is None:
        bad_stages = _omit_stage_errors(policy.omit_stages, "", policy.source, _policy_lines(policy), None)
    errors.extend(bad_stages)
    for index, rule in enumerate(policy.rules):
        errors.extend(validate_rule(rule, index, policy.source))
    return errors


def validate_rule(rule: PolicyRule, index: int, source: str = "<policy>") -> list[Problem]:
    """`validatePolicyRule` for rule `index`: level, nonResourceURLs, resources, omitStages, mix."""
    path = f"rules[{index}]"
    lines = _RuleLines(rule)
    errors = _level_errors(rule, path, source, lines)
    errors += _url_errors(rule, path, source, lines)
    for entry_index, group_resources in enumerate(rule.resources):
        errors += _resource_errors(group_resources, entry_index, path, source, lines)
    errors += _omit_stage_errors(rule.omit_stages, f"{path}.", source, rule.field_lines, rule.line)
    if rule.non_resource_urls and (rule.resources or rule.namespaces):  # V6
        errors.append(
            _invalid(
                source,
                lines.get("nonResourceURLs"),
                f"{path}.nonResourceURLs",
                go_string_slice(rule.non_resource_urls),
                MIXED_DETAIL,
            )
        )
    return errors


class _RuleLines:
    """Line lookup inside one rule: a field's own line, else the rule's first line."""

    def __init__(self, rule: PolicyRule) -> None:
        self.rule = rule

    def get(self, key: str, fallback: int | None = None) -> int | None:
        line = self.rule.field_lines.get(key)
        if line is not None:
            return line
        return fallback if fallback is not None else self.rule.line


def _level_errors(rule: PolicyRule, path: str, source: str, lines: _RuleLines) -> list[Problem]:
    """V2 (`validateLevel`)."""
    if rule.level in LEVELS:
        return []
    line = lines.get("level")
    if rule.level == "":
        return [Problem(source, line, f"{path}.level", "Required value")]
    return [
        Problem(source, line, f"{path}.level", f"Unsupported value: {go_quote(rule.level)}: {SUPPORTED_LEVELS_DETAIL}")
    ]


def _url_errors(rule: PolicyRule, path: str, source: str, lines: _RuleLines) -> list[Problem]:
    """V3 (`validateNonResourceURLs`): both errors may apply to one entry."""
    errors = []
    for j, url in enumerate(rule.non_resource_urls):
        if url == "*":
            continue
        field = f"{path}.nonResourceURLs[{j}]"
        line = lines.get(f"nonResourceURLs[{j}]", rule.field_lines.get("nonResourceURLs"))
        if not url.startswith("/"):
            errors.append(_invalid(source, line, field, go_quote(url), URL_SLASH_DETAIL))
        if url and "*" in url[:-1]:
            errors.append(_invalid(source, line, field, go_quote(url), URL_WILDCARD_DETAIL))
    return errors


def _resource_errors(entry: GroupResources, k: int, path: str, source: str, lines: _RuleLines) -> list[Problem]:
    """V4 (`validateResources`); the path has no index, as upstream's."""
    errors = []
    entry_line = entry.line if entry.line is not None else lines.get("resources")
    if entry.group and entry.group != "*":  # "*" is every group since 1.36.0 (P3)
        messages = []
        if len(entry.group) > DNS1123_SUBDOMAIN_MAX:
            messages.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
        if not _DNS1123_SUBDOMAIN.fullmatch(entry.group):
            messages.append(DNS1123_SUBDOMAIN_DETAIL)
        if messages:
            line = lines.get(f"resources[{k}].group", entry_line)
            errors.append(_invalid(source, line, f"{path}.resources.group", go_quote(entry.group), ",".join(messages)))
    if entry.resource_names and not entry.resources:
        line = lines.get(f"resources[{k}].resourceNames", entry_line)
        errors.append(
            _invalid(
                source,
                line,
                f"{path}.resources.resourceNames",
                go_string_slice(entry.resource_names),
                RESOURCE_NAMES_DETAIL,
            )
        )
    return errors


def _omit_stage_errors(
    stages: tuple[str, ...],
    prefix: str,
    source: str,
    lines: Mapping[str, int],
    default_line: int | None,
) -> list[Problem]:
    """V1 / V5 (`validateOmitStages`): exact stage names; duplicates are fine.

    `lines` is keyed relative to `prefix` (`omitStages[0]`), as in `PolicyRule.field_lines`.
    """
    errors = []
    for j, stage in enumerate(stages):
        if stage not in STAGES:
            key = f"omitStages[{j}]"
            line = lines.get(key, lines.get("omitStages", default_line))
            errors.append(_invalid(source, line, prefix + key, go_quote(stage), ALLOWED_STAGES_DETAIL))
    return errors


def _invalid(source: str, line: int | None, field: str, value: str, detail: str) -> Problem:
    return Problem(source, line, field, f"Invalid value: {value}: {detail}")


def _policy_lines(policy: Policy) -> Mapping[str, int]:
    """Policy-level field lines recovered from the source text (only needed for V1 messages)."""
    if not policy.text:
        return {}
    return policy_field_lines(policy.text)
