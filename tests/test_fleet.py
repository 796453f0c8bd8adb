"""The fleet inside Dask: a LocalCluster of two worker processes reads a generated sharded log (a
few files, one gzip, big files cut into byte ranges) and the merged report is the single-process
`report`'s JSON; the command line gives `report`'s output and exit statuses.

One cluster for the module (starting worker processes costs seconds); the whole file runs in
well under 30 s on CI's two shared cores."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8saudit_tui import sample
from k8saudit_tui.cli import main
from k8saudit_tui.engine.policy.loader import load_policy_file
from k8saudit_tui.engine.workbench.report import as_json

distributed = pytest.importorskip("distributed", reason="the fleet extra (dask[distributed]) is not installed")

from k8saudit_tui.fleet.report import fleet_part, plan_paths, report_fleet  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
CANDIDATE = DATA / "policies" / "kubernetes-gce-configure-helper.yaml"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three clusters' days: plain logs, a rotated gzip one and AKS records, a directory per cluster."""
    root = tmp_path_factory.mktemp("fleet")
    for number, cluster in enumerate(("eu", "us", "ap")):
        folder = root / cluster
        folder.mkdir()
        path = folder / "audit-2026-11-20.log"
        sample.write_log(path, 700, seed=number, start=f"2026-11-2{number}T00:00:00Z", hostile=0.03, bodies=0.2)
        if cluster == "eu":  # AKS diagnostic records: unwrapped by the worker that reads the file
            (folder / "aks-2026-11-20.jsonl").write_bytes(
                (DATA / "cloud" / "aks-diagnostic-storage-datadog.jsonl").read_bytes()
            )
        if cluster == "ap":
            (folder / "audit-2026-11-20.log.1").write_bytes(gzip.compress(path.read_bytes()))
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2].rpartition(b"\n")[0] + b"\n")
    return root


def report_json(capsys: pytest.CaptureFixture[str], command: list[str]) -> tuple[int, dict[str, Any], str]:
    status = main(command)
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else {}, captured.err


def test_local_cluster_report_equals_the_single_process_report(
    capsys: pytest.CaptureFixture[str], client: Any, fleet: Path
) -> None:
    policies = ["--policy", str(sample.DEMO_POLICY), "--candidate", str(CANDIDATE)]
    logs = sorted(str(path) for path in fleet.glob("*/audit-*"))
    status, single, _ = report_json(capsys, ["report", *policies, *logs, "--format", "json"])
    assert status == 0 and single["events"] > 2000
    shards, unread = plan_paths([str(fleet / "*" / "audit-*")], shard_bytes=100_000)
    assert unread == [] and len(shards) > len(logs)  # the plain files are cut into byte ranges
    assert sum(shard.end is None for shard in shards) == 1  # the gzip file is read whole, by a worker
    current = load_policy_file(str(sample.DEMO_POLICY)).policy
    candidate = load_policy_file(str(CANDIDATE)).policy
    assert current is not None and candidate is not None
    merged = report_fleet(current, candidate, [str(fleet / "*" / "audit-*")], client, shard_bytes=100_000)
    assert as_json(merged) == single
    assert set(client.scheduler_info()["workers"]) and len(client.scheduler_info()["workers"]) == 2


def test_the_command_gives_reports_output_and_exit_statuses(
    capsys: pytest.CaptureFixture[str], client: Any, fleet: Path
) -> None:
    """With a scheduler address (this cluster's), the command is `report`: markdown, json, fail-if."""
    address = client.scheduler.address
    base = ["--policy", str(sample.DEMO_POLICY), "--candidate", str(CANDIDATE), str(fleet / "eu"), str(fleet / "ap")]
    for fmt in ("md", "json"):
        assert main(["report", *base, "--format", fmt, "--fail-if", "dropped>0"]) == 1
        single = capsys.readouterr()
        assert main(["fleet", "report", "--scheduler", address, *base, "--format", fmt, "--fail-if", "dropped>0"]) == 1
        fleet_run = capsys.readouterr()
        assert (fleet_run.out, fleet_run.err) == (single.out, single.err)
        assert "fail-if dropped>0" in single.err
    without_aks = [str(fleet / "eu" / "audit-2026-11-20.log"), str(fleet / "ap"), "--format", "json"]
    _, plain, _ = report_json(capsys, ["report", "--policy", str(sample.DEMO_POLICY), *without_aks])
    assert json.loads(fleet_run.out)["events"] == plain["events"] + 21  # the AKS records, unwrapped by a worker
    missing = ["fleet", "report", "--scheduler", address, "--policy", str(sample.DEMO_POLICY)]
    assert main([*missing, str(fleet / "nowhere" / "*.log")]) == 1
    assert capsys.readouterr().err.endswith("no file matches\n")
    assert main([*missing, str(fleet / "eu" / "gone.log")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main([*missing, str(sample.DEMO_POLICY)]) == 2  # a policy given as a log
    assert main([*missing, str(fleet), "--fail-if", "security-lost"]) == 2  # needs --candidate
    assert capsys.readouterr().err.endswith("--fail-if security-lost needs --candidate\n")


def test_a_shard_a_worker_cannot_read_is_named_and_the_rest_reported(client: Any, fleet: Path, tmp_path: Path) -> None:
    """A file gone between planning and reading (or not mounted on a worker) is an unread problem."""
    log = tmp_path / "audit.log"
    log.write_bytes((fleet / "eu" / "audit-2026-11-20.log").read_bytes())
    current = load_policy_file(str(sample.DEMO_POLICY)).policy
    assert current is not None
    whole = fleet_part(current, None, [str(log)], client)
    assert whole.unread == () and whole.events > 0
    from k8saudit_tui.fleet import report as fleet_report

    shards, _ = plan_paths([str(log)])
    log.unlink()
    futures = client.map(fleet_report._read, shards, policies=(current,), pure=False)
    [part] = client.gather(futures)
    assert part.events == 0 and [p.message for p in part.unread] == ["cannot read: No such file or directory"]


def test_scheduler_local_starts_a_cluster_for_the_run(capsys: pytest.CaptureFixture[str], fleet: Path) -> None:
    policies = ["--policy", str(sample.DEMO_POLICY), "--format", "json"]
    log = str(fleet / "us" / "audit-2026-11-20.log")
    status, single, _ = report_json(capsys, ["report", *policies, log])
    command = ["fleet", "report", "--scheduler", "local", "--workers", "1", "--shard-mb", "1", *policies, log]
    assert report_json(capsys, command) == (status, single, "") and status == 0
