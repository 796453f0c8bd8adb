"""Cross-check against an independent oracle: logs recorded under real policies by another program.

tests/data/oracle/*.jsonl.gz were written by the shared corpus tool `gen_audit_log.py --policy P
--policy-oracle` (see tests/data/README.md): every event is what a kube-apiserver running P writes,
and carries the index of the rule that matched as annotation `k8saudit-gen/rule-index`. Our verdict
must agree on every event: same rule, same level, and the event is not one P would omit.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from k8saudit_tui.cli import main

DATA = Path(__file__).parent / "data"
ORACLE_LOGS = sorted((DATA / "oracle").glob("*.jsonl.gz"))


@pytest.mark.parametrize("log", ORACLE_LOGS, ids=[log.name for log in ORACLE_LOGS])
def test_verdicts_agree_with_the_recording_oracle(capsysbinary: pytest.CaptureFixture[bytes], log: Path) -> None:
    policy = DATA / "policies" / log.name.replace(".jsonl.gz", ".yaml")
    assert main(["evaluate", "--policy", str(policy), str(log)]) == 0
    rows = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    events = [json.loads(line) for line in gzip.decompress(log.read_bytes()).splitlines()]
    assert len(rows) == len(events) == 3000
    annotated = 0
    for row, event in zip(rows, events):
        assert (row["level"], row["omitted"]) == (event["level"], False), event
        annotations = event.get("annotations", {})
        if "k8saudit-gen/rule-index" in annotations:  # failed-authentication events carry none (E2)
            assert row["rule"] == int(annotations["k8saudit-gen/rule-index"]), event
            annotated += 1
    assert annotated > 2900
