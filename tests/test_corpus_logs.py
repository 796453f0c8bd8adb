"""Every real public log in tests/data/logs evaluates with no event lost, under every real policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8saudit_tui.cli import main

DATA = Path(__file__).parent / "data"
LOGS = sorted((DATA / "logs").glob("*.jsonl"))
POLICIES = sorted(p for p in (DATA / "policies").glob("*.yaml") if not p.name.startswith("INVALID-"))


def test_the_corpus_is_there() -> None:
    assert len(LOGS) >= 8 and len(POLICIES) >= 20


@pytest.mark.parametrize("log", LOGS, ids=[log.name for log in LOGS])
@pytest.mark.parametrize("policy", POLICIES, ids=[policy.stem for policy in POLICIES])
def test_every_event_of_every_log_gets_a_verdict(
    capsysbinary: pytest.CaptureFixture[bytes], log: Path, policy: Path
) -> None:
    assert main(["evaluate", "--policy", str(policy), str(log)]) == 0
    rows = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    non_blank = [n for n, line in enumerate(log.read_bytes().splitlines(), 1) if line.strip()]
    assert [row["line"] for row in rows] == non_blank
    assert [row for row in rows if "error" in row] == []
    assert all(row["level"] in ("None", "Metadata", "Request", "RequestResponse") for row in rows)
