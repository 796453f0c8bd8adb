"""Check an audit Policy file the way kube-apiserver would load it.

Output (stdout), one line per problem, in file order:

    FILE:LINE: FIELD: MESSAGE            an error: kube-apiserver refuses the file
    warning: FILE:LINE: FIELD: MESSAGE   a warning: it loads, but something is probably not meant

`:LINE` is left out when no line applies, `FIELD: ` when the problem concerns the whole file.
Field paths are kube-apiserver's (`rules[2].level`, `rules[0].resources.group`).
A one-line verdict goes to stderr.

Besides what kube-apiserver checks, it warns about a built-in resource under a group that does not
serve it (`deployments` under the core group "", anything under `extensions`, gone since 1.22):
such an entry loads but never matches. Only names of kube-apiserver's own resources warn; a
resource it does not know (a CRD's), a group it does not know and wildcards never do.

`-` reads the policy from stdin (`kubectl get cm ... -o jsonpath=... | k8saudit-tui validate -`);
it is then named `<stdin>` in the output. `@gke`, `@eks` and `@aks` name the bundled provider
baselines (`k8saudit-tui presets`), named with their label in the verdict line.

Exit status: 0 when kube-apiserver (>= 1.24) would load the policy (warnings allowed), 1 when it
would refuse it (including audit.k8s.io/v1beta1 and v1alpha1 files, which still load here for
analysis), 2 when there is no policy file to judge: a missing path, a directory, a file that cannot
be opened, or an audit log given in its place (one line on stderr, as every command says it).
"""

from __future__ import annotations

import argparse
import sys

from k8saudit_tui.commands.common import error, policy_file_problem
from k8saudit_tui.engine.policy.lint import with_lint
from k8saudit_tui.engine.policy.loader import MAX_POLICY_BYTES, PolicyLoad, load_policy_file, load_policy_text
from k8saudit_tui.engine.policy.presets import display_name

STDIN = "-"
STDIN_NAME = "<stdin>"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`k8saudit-tui validate POLICY`."""
    parser.add_argument("policy", help="audit Policy file (YAML or JSON); - for stdin; @gke, @eks, @aks for a preset")


def run(args: argparse.Namespace) -> int:
    """Print every problem of the policy; 0 if kube-apiserver would load it, 1 if not, 2 if there
    is no policy file to judge."""
    unusable = policy_file_problem(args.policy)
    if unusable is not None:
        error(unusable)
        return 2  # bad input, as for every command (cli.USAGE)
    name, load = _load(args.policy)
    load = with_lint(load)
    for line in format_problems(load):
        print(line)
    print(verdict_line(name, load), file=sys.stderr)
    return 0 if load.apiserver_accepts else 1


def _load(path: str) -> tuple[str, PolicyLoad]:
    """(the name to print, the load) of a policy file, or of stdin for `-`."""
    if path != STDIN:
        return display_name(path), load_policy_file(path)
    data = sys.stdin.buffer.read(MAX_POLICY_BYTES + 1)  # one byte over the limit: "too large"
    return STDIN_NAME, load_policy_text(data, STDIN_NAME)


def format_problems(load: PolicyLoad) -> list[str]:
    """The stdout lines: errors as `str(problem)`, warnings prefixed with `warning: `."""
    return [f"warning: {problem}" if problem.severity == "warning" else str(problem) for problem in load.problems]


def verdict_line(path: str, load: PolicyLoad) -> str:
    """`policy.yaml: kube-apiserver would load it (12 rules, 1 warning)` or `... refuse it ...`."""
    counts = []
    if load.decoded is not None:
        counts.append(_plural(len(load.decoded.rules), "rule"))
    if load.errors:
        counts.append(_plural(len(load.errors), "error"))
    if load.warnings:
        counts.append(_plural(len(load.warnings), "warning"))
    verb = "load" if load.apiserver_accepts else "refuse"
    detail = f" ({', '.join(counts)})" if counts else ""
    return f"{path}: kube-apiserver would {verb} it{detail}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
