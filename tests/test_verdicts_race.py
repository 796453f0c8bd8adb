"""Re-evaluating a policy while the UI thread paints: readers never see half-built verdict tables."""

from __future__ import annotations

import threading
from pathlib import Path

from k8saudit_tui.engine.logs.sources import expand_sources
from k8saudit_tui.engine.model import Policy, PolicyRule
from k8saudit_tui.engine.policy.evaluate import PolicyEvaluator
from k8saudit_tui.engine.store import StoreLoader
from tests.auditlog_helpers import event, line, write_lines


def test_values_stay_readable_while_the_policy_is_re_evaluated(tmp_path: Path) -> None:
    """Holding `j` during a policy reload read rule/level/omitted of rows whose verdict tables had
    just been emptied: IndexError in the events table. Every read must give one policy's answer."""
    lines = [line(event(n, user=f"user-{n}", verb=("get", "list", "create")[n % 3])) for n in range(3000)]
    log = write_lines(tmp_path / "audit.log", lines)
    store = StoreLoader(expand_sources([str(log)]), workers=1).load_all()
    policies = [
        PolicyEvaluator(Policy(rules=(PolicyRule(level="Metadata"),))),
        PolicyEvaluator(Policy(rules=(PolicyRule(level="Request", verbs=("get",)), PolicyRule(level="None")))),
    ]
    store.set_policy(policies[0])
    stop = threading.Event()
    failures: list[BaseException] = []

    def re_evaluate() -> None:
        try:
            for round_ in range(60):
                store.set_policy(policies[round_ % 2])
        except BaseException as error:
            failures.append(error)
        finally:
            stop.set()

    writer = threading.Thread(target=re_evaluate)
    writer.start()
    seen: set[object] = set()
    try:
        while not stop.is_set():
            for row in range(len(store)):
                seen.add(store.value(row, "level"))
                store.value(row, "rule")
                store.value(row, "omitted")
    finally:
        stop.set()
        writer.join()
    assert not failures
    assert seen <= {"Metadata", "Request", "None"}
    assert len(store.column("level")) == len(store) == 3000
