"""List the bundled provider baseline policies (`@gke`, `@eks`, `@aks`), or print one.

`k8saudit-tui presets` prints each preset: its name and label, where its rules come from, and its
file. `k8saudit-tui presets @gke` prints that policy (its header comment says what it is built
from and what is known to differ from the provider), to read, to diff with, or to start from.
A preset is accepted wherever a policy path is: `--policy @eks`, `--candidate @gke`, `validate @aks`.

Why a command of its own rather than `validate --list-presets`: listing is not validating, a
command shows up among the others when a word is mistyped, and printing one lets a user take a
baseline as the first draft of their own policy (`k8saudit-tui presets @gke > my-policy.yaml`).

Exit status: 0; 2 for a name that is no preset (the message lists the presets).
"""

from __future__ import annotations

import argparse
import sys

from k8saudit_tui.commands.common import error
from k8saudit_tui.engine.policy.presets import PREFIX, PRESETS, find, unknown_message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`k8saudit-tui presets [NAME]`."""
    parser.add_argument("name", nargs="?", help="print this preset's policy (@gke, or just gke)")


def run(args: argparse.Namespace) -> int:
    """List the presets, or print the one named; 2 for an unknown name."""
    if args.name is None:
        sys.stdout.write(listing())
        return 0
    spec = args.name if args.name.startswith(PREFIX) else PREFIX + args.name
    preset = find(spec)
    if preset is None:
        error(unknown_message(spec))
        return 2
    sys.stdout.write(preset.path.read_text(encoding="utf-8"))
    return 0


def listing() -> str:
    """One block per preset: `@gke  approximation of GKE's policy`, then its source and file."""
    width = max(len(preset.spec) for preset in PRESETS)
    lines = []
    for preset in PRESETS:
        indent = " " * (width + 2)
        lines += [
            f"{preset.spec:<{width}}  {preset.label}",
            f"{indent}source: {preset.source}",
            f"{indent}file:   {preset.path}",
        ]
    return "\n".join(lines) + "\n"
