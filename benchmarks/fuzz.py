"""A long fuzzing pass over every parser (issue #5): not run by CI, run it by hand.

    python benchmarks/fuzz.py [--examples N] [--seconds S]

Hypothesis drives each target with many more examples than the test suite does (which runs the
same properties with the default 100). Each target must raise nothing but its documented error.
Prints, per target, the examples run, the time taken, and the first failure found (if any).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import orjson
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from k8saudit_tui.engine.logs.attributes import request_attributes
from k8saudit_tui.engine.logs.event import EventError, decode_event, decode_event_line
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.policy.explain import explain, format_explanation
from k8saudit_tui.engine.policy.loader import load_policy_text
from k8saudit_tui.engine.query import FilterError, compile_filter

WORDS = ("Event", "audit.k8s.io/v1", "get", "pods", "ResponseComplete", "kube-system", "\x1b[31m", "[b]", "")
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.sampled_from(WORDS)
    | st.text(max_size=12)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
EVENT_KEYS = (
    "kind",
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "objectRef",
    "responseStatus",
    "requestReceivedTimestamp",
    "stageTimestamp",
)
event_like = st.dictionaries(st.sampled_from(EVENT_KEYS), json_value, max_size=len(EVENT_KEYS))
POLICY_KEYS = (
    "apiVersion",
    "kind",
    "rules",
    "omitStages",
    "omitManagedFields",
    "level",
    "users",
    "userGroups",
    "verbs",
    "resources",
    "namespaces",
    "nonResourceURLs",
    "group",
    "resourceNames",
    "x",
)
policy_like = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(POLICY_KEYS), inner, max_size=5),
    max_leaves=30,
)
DEMO_POLICY = load_policy_text(
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: [system:kube-proxy]\n"
    "- level: Request\n  resources: [{group: '', resources: ['pods/*']}]\n- level: Metadata\n"
).policy
assert DEMO_POLICY is not None


def fuzz_event_bytes(data: bytes) -> None:
    try:
        event = decode_event_line(data)
    except EventError:
        return
    request_attributes(event)


def fuzz_event_objects(document: dict) -> None:
    data = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS) if _serialisable(document) else b"{}"
    try:
        event = decode_event(data)
    except EventError:
        return
    attrs = request_attributes(event)
    explanation = explain(DEMO_POLICY, attrs)
    assert explanation.verdict == PolicyEvaluator(DEMO_POLICY).evaluate(attrs)
    format_explanation(explanation)


def fuzz_policy_text(text: str) -> None:
    load_policy_text(text)


def fuzz_policy_documents(document: object) -> None:
    load_policy_text(yaml.safe_dump({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": document}))


def fuzz_filter(text: str) -> None:
    try:
        compile_filter(text)
    except FilterError:
        pass


def _serialisable(document: object) -> bool:
    try:
        orjson.dumps(document)
    except TypeError:
        return False
    return True


TARGETS: dict[str, tuple[Callable[..., None], st.SearchStrategy]] = {
    "event bytes": (fuzz_event_bytes, st.binary(max_size=400)),
    "event objects": (fuzz_event_objects, event_like),
    "policy text": (fuzz_policy_text, st.text(max_size=300)),
    "policy documents": (fuzz_policy_documents, policy_like),
    "filter language": (
        fuzz_filter,
        st.text(alphabet=st.sampled_from(list("!:~/,()[]*\\ abuserns.-4xx")) | st.characters(), max_size=60),
    ),
}


def run_target(name: str, target: Callable[..., None], strategy: st.SearchStrategy, examples: int) -> None:
    failures: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(value: object) -> None:
        target(value)

    started = time.perf_counter()
    try:
        prop()
    except Exception:
        failures.append(traceback.format_exc(limit=-3))
    elapsed = time.perf_counter() - started
    verdict = "no failure" if not failures else "FAILURE:\n" + failures[0]
    print(f"{name:18} {examples:>9,} examples {elapsed:8.1f} s  {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="examples per target")
    args = parser.parse_args()
    for name, (target, strategy) in TARGETS.items():
        run_target(name, target, strategy, args.examples)


if __name__ == "__main__":
    main()
