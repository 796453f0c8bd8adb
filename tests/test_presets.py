"""The provider baselines `@gke`, `@eks`, `@aks`: what they contain, how they evaluate, and that
every command takes them where it takes a policy path (and refuses an unknown `@name` alike).

The upstream policies they are built from are in tests/data/policies (attribution there); the
expected verdicts are written out by hand from the upstream rules, and for `@gke` and `@aks` they
are also the upstream file's own verdicts, event for event.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.cli import main
from k8saudit_tui.commands.common import SNIFF_BYTES, looks_like_policy
from k8saudit_tui.engine.model import GroupResources, PolicyRule, Problem
from k8saudit_tui.engine.policy import presets
from k8saudit_tui.engine.policy.lint import with_lint
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.ui.launch import run_tui
from tests.auditlog_helpers import event, line, write_lines
from tests.conftest import DATA
from tests.test_static_checks import ROOT

UPSTREAM = {
    "gke": DATA / "policies" / "kubernetes-gce-configure-helper.yaml",
    "aks": DATA / "policies" / "aks-engine-audit-policy.yaml",
}
LOG = DATA / "logs" / "audit2rbac-demo.jsonl"
POLICY = DATA / "policies" / "kubernetes-website-audit-policy.yaml"
NODE_GROUPS = ("system:nodes", "system:authenticated")
UNKNOWN = "@gcp"
UNKNOWN_LINE = (
    "k8saudit-tui: @gcp: no such preset; the presets are @gke (approximation of GKE's policy), "
    "@eks (approximation of EKS's policy), @aks (approximation of AKS's policy)\n"
)

AWS_AUTH_RULE = PolicyRule(
    level="RequestResponse",
    verbs=("update", "patch", "delete"),
    namespaces=("kube-system",),
    resources=(GroupResources("", ("configmaps",), ("aws-auth",)),),
    omit_stages=("RequestReceived",),
)
"""The rule the EKS Best Practices Guide quotes (aws/aws-eks-best-practices detective.md)."""


def _bare(rule: PolicyRule) -> PolicyRule:
    """The rule without its lines: what it means, not where it is written."""
    resources = tuple(dataclasses.replace(entry, line=None) for entry in rule.resources)
    return dataclasses.replace(rule, line=None, end_line=None, resources=resources)


def _header_and_body(text: str) -> tuple[str, str]:
    """The leading comment lines of a preset file, and the rest."""
    lines = text.splitlines(keepends=True)
    count = next(i for i, text_line in enumerate(lines) if not text_line.startswith("#"))
    return "".join(lines[:count]), "".join(lines[count:])


# ------------------------------------------------------------------ the files


@pytest.mark.parametrize("preset", presets.PRESETS, ids=lambda p: p.name)
def test_each_preset_loads_and_validates_with_no_problem(preset: presets.Preset) -> None:
    load = with_lint(load_policy_file(preset.spec))
    assert load.problems == ()
    assert load.apiserver_accepts
    assert load.policy is not None and load.policy.source == preset.spec


@pytest.mark.parametrize("preset", presets.PRESETS, ids=lambda p: p.name)
def test_validate_takes_a_preset_and_names_it_with_its_label(
    capsys: pytest.CaptureFixture[str], preset: presets.Preset
) -> None:
    assert main(["validate", preset.spec]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    rules = len(load_policy_file(preset.spec).policy.rules)  # type: ignore[union-attr]
    assert captured.err == f"{preset.spec} ({preset.label}): kube-apiserver would load it ({rules} rules)\n"


@pytest.mark.parametrize("preset", presets.PRESETS, ids=lambda p: p.name)
def test_each_file_says_it_is_an_approximation_and_where_it_comes_from(preset: presets.Preset) -> None:
    text = preset.path.read_text(encoding="utf-8")
    header, _ = _header_and_body(text)
    provider = preset.name.upper()
    assert header.startswith(
        f"# {preset.spec}: an APPROXIMATION of what {provider} applies, not the provider's own policy."
    )
    assert preset.label == f"approximation of {provider}'s policy"
    for word in ("Source", "Licence", "Known to differ"):
        assert word in header
    commit = preset.source.split(" @ ")[1].split(",")[0]
    assert f"commit {commit}" in header
    assert looks_like_policy(text.encode()[:SNIFF_BYTES])  # given as a log, it is still told from one


def test_the_table_lists_every_bundled_file_and_only_those() -> None:
    assert sorted(p.name for p in presets.PRESETS_DIR.iterdir()) == sorted(p.file for p in presets.PRESETS)
    assert [p.spec for p in presets.PRESETS] == ["@gke", "@eks", "@aks"]


def test_the_package_data_globs_ship_every_preset() -> None:
    """A wheel carries only what pyproject's package-data globs match (`data/*` skips a subdirectory)."""
    package = ROOT / "k8saudit_tui"
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["k8saudit_tui"]
    shipped = {path for pattern in globs for path in package.glob(pattern) if path.is_file()}
    assert {preset.path for preset in presets.PRESETS} <= shipped


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_gke_and_aks_are_the_rendered_upstream_text_under_a_header(name: str) -> None:
    preset = presets.find("@" + name)
    assert preset is not None
    _, body = _header_and_body(preset.path.read_text(encoding="utf-8"))
    assert body == UPSTREAM[name].read_text(encoding="utf-8")


def test_eks_is_gke_with_the_aws_auth_rule_first() -> None:
    gke, eks = load_policy_file("@gke").policy, load_policy_file("@eks").policy
    assert gke is not None and eks is not None
    assert _bare(eks.rules[0]) == AWS_AUTH_RULE
    assert [_bare(rule) for rule in eks.rules[1:]] == [_bare(rule) for rule in gke.rules]
    assert (eks.omit_stages, eks.api_version) == (gke.omit_stages, gke.api_version)


# ------------------------------------------------------------------ verdicts


def _verdicts(
    capsys: pytest.CaptureFixture[str], policy: str, events: list[dict[str, Any]], tmp_path: Path
) -> list[tuple[int | None, str]]:
    """(rule, level) of each event under `policy`, as `k8saudit-tui evaluate` prints them."""
    log = write_lines(tmp_path / "audit.log", [line(e) for e in events])
    assert main(["evaluate", "--policy", policy, str(log)]) == 0
    rows = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    return [(row["rule"], row["level"]) for row in rows]


GKE_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("a user gets a secret", event(verb="get", resource="secrets", name="db"), 13, "Metadata"),
    ("GET /healthz", event(resource=None, uri="/healthz"), 8, "None"),
    ("GET /healthz/etcd", event(resource=None, uri="/healthz/etcd"), 8, "None"),
    ("GET /metrics", event(resource=None, uri="/metrics"), 16, "Metadata"),
    ("a user creates a pod", event(verb="create", resource="pods", name="web"), 15, "RequestResponse"),
    ("a user lists pods", event(verb="list", resource="pods"), 14, "Request"),
    ("a user watches pods", event(verb="watch", resource="pods"), 14, "Request"),
    (
        "a user updates a deployment",
        event(verb="update", resource="deployments", group="apps", name="web"),
        15,
        "RequestResponse",
    ),
    ("a user patches a configmap", event(verb="patch", resource="configmaps", name="cfg"), 13, "Metadata"),
    ("a core event is created", event(verb="create", resource="events"), 9, "None"),
    (
        "kube-proxy watches endpoints",
        event(user="system:kube-proxy", verb="watch", resource="endpoints", namespace=""),
        0,
        "None",
    ),
    (
        "a kubelet patches its node's status",
        event(
            user="system:node:n1",
            groups=NODE_GROUPS,
            verb="patch",
            resource="nodes",
            subresource="status",
            name="n1",
            namespace="",
            uri="/api/v1/nodes/n1/status",
        ),
        11,
        "Request",
    ),
    (
        "a kubelet gets its node",
        event(
            user="system:node:n1", groups=NODE_GROUPS, resource="nodes", name="n1", namespace="", uri="/api/v1/nodes/n1"
        ),
        3,
        "None",
    ),
    (
        "the namespace controller deletes a collection",
        event(user="system:serviceaccount:kube-system:namespace-controller", verb="deletecollection", resource="pods"),
        12,
        "Request",
    ),
    (
        "a lease is renewed (coordination.k8s.io is not a known API)",
        event(user="system:kube-scheduler", verb="update", resource="leases", group="coordination.k8s.io"),
        16,
        "Metadata",
    ),
    ("a custom resource is created", event(verb="create", resource="widgets", group="example.com"), 16, "Metadata"),
]


def test_gke_evaluates_known_requests_as_the_upstream_policy_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = [dict(case[1], auditID=f"00000000-0000-0000-0000-{n:012d}") for n, case in enumerate(GKE_CASES)]
    expected = [(rule, level) for _, _, rule, level in GKE_CASES]
    assert _verdicts(capsys, "@gke", events, tmp_path) == expected
    assert _verdicts(capsys, str(UPSTREAM["gke"]), events, tmp_path) == expected


def test_eks_keeps_gke_verdicts_one_rule_down_and_logs_aws_auth_changes_in_full(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    aws_auth = {"resource": "configmaps", "name": "aws-auth", "namespace": "kube-system"}
    cases = [
        (
            "cluster-autoscaler updates aws-auth",
            event(user="cluster-autoscaler", verb="update", **aws_auth),
            0,
            "RequestResponse",
        ),
        ("a user patches aws-auth", event(verb="patch", **aws_auth), 0, "RequestResponse"),
        ("a user deletes aws-auth", event(verb="delete", **aws_auth), 0, "RequestResponse"),
        ("a user reads aws-auth", event(verb="get", **aws_auth), 14, "Metadata"),
        (
            "a user patches another kube-system configmap",
            event(verb="patch", resource="configmaps", name="coredns", namespace="kube-system"),
            14,
            "Metadata",
        ),
        (
            "aws-auth elsewhere is no aws-auth",
            event(verb="patch", resource="configmaps", name="aws-auth"),
            14,
            "Metadata",
        ),
    ]
    cases += [(why, e, rule + 1, level) for why, e, rule, level in GKE_CASES]
    events = [case[1] for case in cases]
    assert _verdicts(capsys, "@eks", events, tmp_path) == [(rule, level) for _, _, rule, level in cases]
    assert _verdicts(capsys, "@gke", events[:1], tmp_path) == [(6, "None")]  # why the rule comes first


AKS_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("a user creates a pod", event(verb="create", resource="pods", name="web"), 0, "RequestResponse"),
    ("a user reads a pod's log", event(resource="pods", subresource="log", name="web"), 1, "Metadata"),
    (
        "kube-proxy watches services",
        event(user="system:kube-proxy", verb="watch", resource="services", namespace=""),
        2,
        "None",
    ),
    ("GET /api by a signed-in user", event(resource=None, uri="/api"), 3, "None"),
    ("GET /version by a signed-in user", event(resource=None, uri="/version"), 3, "None"),
    ("GET /healthz", event(resource=None, uri="/healthz"), 7, "Metadata"),
    ("a kube-system configmap", event(resource="configmaps", name="c", namespace="kube-system"), 4, "Request"),
    ("a user gets a secret", event(resource="secrets", name="db"), 5, "Request"),
    ("a configmap elsewhere", event(resource="configmaps", name="c"), 6, "Request"),
    ("a user creates a deployment", event(verb="create", resource="deployments", group="apps"), 7, "Metadata"),
]


def test_aks_evaluates_known_requests_as_the_aks_engine_policy_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = [case[1] for case in AKS_CASES]
    expected = [(rule, level) for _, _, rule, level in AKS_CASES]
    assert _verdicts(capsys, "@aks", events, tmp_path) == expected
    assert _verdicts(capsys, str(UPSTREAM["aks"]), events, tmp_path) == expected


# ------------------------------------------------------------------ the resolver


def test_resolve_passes_paths_through_finds_presets_and_names_an_unknown_one() -> None:
    assert presets.resolve("policy.yaml") == Path("policy.yaml")
    assert presets.resolve("./@gke") == Path("./@gke")
    assert presets.resolve("@eks") == presets.PRESETS_DIR / "eks.yaml"
    unknown = presets.resolve(UNKNOWN)
    assert isinstance(unknown, Problem)
    assert f"k8saudit-tui: {unknown}\n" == UNKNOWN_LINE


SPECS = st.one_of(
    st.sampled_from([preset.spec for preset in presets.PRESETS]),
    st.text(max_size=20).map(lambda text: "@" + text),
    st.text(max_size=20),
)


def _plainly(spec: str) -> tuple[object, str]:
    """What `resolve` and `display_name` should give, from the table by a plain scan."""
    for preset in presets.PRESETS:
        if spec == "@" + preset.name:
            return preset.path, f"@{preset.name} ({preset.label})"
    if spec[:1] == "@":
        return ("problem", spec), spec
    return Path(spec), spec


@given(SPECS)
def test_only_a_known_at_name_is_a_preset_and_only_an_unknown_one_is_a_problem(spec: str) -> None:
    """Against the plain rule: a path passes through untouched, whatever its characters."""
    resolved = presets.resolve(spec)
    seen = ("problem", resolved.file) if isinstance(resolved, Problem) else resolved
    assert (seen, presets.display_name(spec)) == _plainly(spec)


def test_display_name_labels_presets_only() -> None:
    assert presets.display_name("@aks") == "@aks (approximation of AKS's policy)"
    assert presets.display_name("policy.yaml") == "policy.yaml"
    assert presets.display_name(UNKNOWN) == UNKNOWN


def test_the_loader_reports_an_unknown_preset_as_a_problem() -> None:
    load = load_policy_file(UNKNOWN)
    assert load.policy is None
    assert [str(problem) for problem in load.problems] == [UNKNOWN_LINE.removeprefix("k8saudit-tui: ").rstrip("\n")]


# ------------------------------------------------------------------ every command


POLICY_COMMANDS = {
    "validate": lambda policy: ["validate", policy],
    "evaluate": lambda policy: ["evaluate", "--policy", policy, str(LOG)],
    "export": lambda policy: ["export", "--policy", policy, str(LOG), "-o", "-"],
    "explain": lambda policy: ["explain", "--policy", policy, str(LOG), "--line", "1"],
    "top": lambda policy: ["top", "--policy", policy, "--by", "rule", str(LOG)],
    "apply": lambda policy: ["apply", "--policy", policy, str(LOG), "-o", "-"],
    "report": lambda policy: ["report", "--policy", policy, str(LOG)],
    "report --candidate": lambda policy: ["report", "--policy", str(POLICY), "--candidate", policy, str(LOG)],
    "explorer": lambda policy: ["--policy", policy, str(LOG)],
    "explorer --candidate": lambda policy: ["--policy", str(POLICY), "--candidate", policy, str(LOG)],
    "presets": lambda policy: ["presets", policy],
}


@pytest.mark.parametrize("command", sorted(POLICY_COMMANDS))
def test_an_unknown_preset_is_refused_alike_everywhere_listing_the_presets(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code = main(POLICY_COMMANDS[command](UNKNOWN))
    captured = capsys.readouterr()
    assert (code, captured.out, captured.err) == (2, "", UNKNOWN_LINE)


@pytest.mark.parametrize(
    "command", sorted(set(POLICY_COMMANDS) - {"validate", "explorer", "explorer --candidate", "presets"})
)
def test_every_command_takes_a_preset_where_it_takes_a_policy(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """Each writes its output (validate, whose output is its problems, is tested above)."""
    assert main(POLICY_COMMANDS[command]("@eks")) == 0
    assert capsys.readouterr().out.strip()


def test_the_report_header_names_the_presets_with_their_labels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--policy", "@gke", "--candidate", "@eks", str(LOG)]) == 0
    out = capsys.readouterr().out
    assert (
        "current policy: @gke (approximation of GKE's policy) · candidate: @eks (approximation of EKS's policy)\n"
        in out
    )


def test_the_explorer_launcher_refuses_an_unknown_preset_and_takes_a_known_one_past_its_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """run_tui is also called directly (not through cli): it checks both policies itself."""
    assert run_tui(["--policy", str(POLICY), "--candidate", UNKNOWN, str(LOG)]) == 2
    assert capsys.readouterr().err == UNKNOWN_LINE
    assert run_tui(["--policy", UNKNOWN, str(LOG)]) == 2
    assert capsys.readouterr().err == UNKNOWN_LINE


# ------------------------------------------------------------------ the presets command


def test_presets_lists_name_label_source_and_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3 * len(presets.PRESETS)
    for k, preset in enumerate(presets.PRESETS):
        assert lines[3 * k] == f"{preset.spec}  {preset.label}"
        assert lines[3 * k + 1] == f"      source: {preset.source}"
        assert lines[3 * k + 2] == f"      file:   {preset.path}"


@pytest.mark.parametrize("name", ["@gke", "gke"])
def test_presets_prints_one_policy_as_bundled(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["presets", name]) == 0
    assert capsys.readouterr().out == (presets.PRESETS_DIR / "gke.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["validate", "explorer --candidate"])
def test_an_unknown_preset_name_is_printed_with_its_control_characters_made_visible(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    argv = POLICY_COMMANDS[command]("@\x1b[31mred")
    code = run_tui(argv) if command.startswith("explorer") else main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("k8saudit-tui: @\\x1b[31mred: no such preset; ")
    assert "\x1b" not in err
