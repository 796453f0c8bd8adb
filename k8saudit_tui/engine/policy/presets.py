"""The provider baselines bundled as named presets: `--policy @gke`, `@eks`, `@aks`.

Contract: `PRESETS` is the one table (name, bundled file, label, source); `resolve(spec)` turns
whatever a user gave as a policy into the file to read, or a Problem for an unknown `@name`
(that names every preset); `display_name(spec)` is how a policy is named wherever it is shown.
A spec that does not start with `@` is a path and passes through unchanged (a file whose name
starts with `@` is reached as `./@name`).

Why: on GKE, EKS and AKS nobody can read or change the audit policy the provider applies, yet
the question "what would my own policy keep of this managed log" needs the provider's side too.
The public approximations ship with the package (`k8saudit_tui/data/presets/`), each file
opening with its sources and what is known to differ, and every name shown says "approximation"
so a preset is never mistaken for the provider's own policy. One resolver, called by the policy
loader and by the checks before it, is what makes every command and the explorer accept them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from k8saudit_tui.engine.model import Problem

PREFIX = "@"
"""What marks a preset name where a policy path is accepted."""

PRESETS_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "presets"
"""Where the bundled preset files are (package data)."""


@dataclass(frozen=True, slots=True)
class Preset:
    """One bundled provider baseline."""

    name: str
    """`gke`: what follows the `@`."""
    file: str
    """The file's name in PRESETS_DIR."""
    label: str
    """`approximation of GKE's policy`: said wherever the preset is named."""
    source: str
    """Where the rules come from: repository, path, commit, licence."""

    @property
    def spec(self) -> str:
        """`@gke`: how a user names it."""
        return PREFIX + self.name

    @property
    def title(self) -> str:
        """`@gke (approximation of GKE's policy)`: the name shown in titles, status and reports."""
        return f"{self.spec} ({self.label})"

    @property
    def path(self) -> Path:
        """The bundled file."""
        return PRESETS_DIR / self.file


_CONFIGURE_HELPER = (
    "kubernetes/cloud-provider-gcp cluster/gce/gci/configure-helper.sh "
    "(create-master-audit-policy) @ 4d88a83fa9dc, Apache-2.0"
)

PRESETS: tuple[Preset, ...] = (
    Preset("gke", "gke.yaml", "approximation of GKE's policy", _CONFIGURE_HELPER),
    Preset(
        "eks",
        "eks.yaml",
        "approximation of EKS's policy",
        _CONFIGURE_HELPER
        + "; aws-auth rule from aws/aws-eks-best-practices content/security/docs/detective.md @ 9e20983ef44b, MIT-0",
    ),
    Preset(
        "aks",
        "aks.yaml",
        "approximation of AKS's policy",
        "Azure/aks-engine parts/k8s/addons/audit-policy.yaml @ a3de7bd052a2, MIT",
    ),
)

_BY_SPEC = {preset.spec: preset for preset in PRESETS}


def is_preset_spec(spec: str) -> bool:
    """Whether `spec` names a preset (known or not) rather than a file."""
    return spec.startswith(PREFIX)


def find(spec: str) -> Preset | None:
    """The preset `spec` names; None for a path or an unknown name."""
    return _BY_SPEC.get(spec)


def unknown_message(spec: str) -> str:
    """`@gcp: no such preset; the presets are @gke (...), ...`: what to type instead."""
    return str(_unknown(spec))


def _unknown(spec: str) -> Problem:
    names = ", ".join(preset.title for preset in PRESETS)
    return Problem(spec, None, "", f"no such preset; the presets are {names}")


def resolve(spec: str) -> Path | Problem:
    """The file to read for `spec`: a preset's bundled file, the path itself otherwise; a Problem
    (file = the spec, no line) for an `@name` that is no preset."""
    if not is_preset_spec(spec):
        return Path(spec)
    preset = find(spec)
    if preset is None:
        return _unknown(spec)
    return preset.path


def display_name(spec: str) -> str:
    """How the policy `spec` is named where it is shown: a preset with its label, a path as given."""
    preset = find(spec)
    return preset.title if preset is not None else spec
