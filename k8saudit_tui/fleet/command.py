"""`k8saudit-tui fleet report`: `report` over many sharded logs, read in parallel by a Dask cluster.

    k8saudit-tui fleet report --scheduler ADDR|local [--workers N] --policy P [--candidate C]
        GLOB... [--format md|json] [--fail-if COND]... [--log-format NAME]

Contract: the same output (Markdown or JSON) and the same exit statuses as `report` over the same
files: 0 done, 1 a log (or a glob matching nothing) cannot be read or a --fail-if condition holds,
2 a wrong command line (a bad condition, an unusable policy, a policy given as a log, Dask not
installed). `--scheduler local` starts a LocalCluster of `--workers` processes on this machine for
the run; an address (`tcp://host:8786`) uses that cluster, whose workers must have k8saudit-tui
installed and see the files at the same paths. Globs are expanded here, quoted so the shell
leaves them alone (`'logs/*/audit-2026-11-*.log*'`, `**` for any depth).

Why Dask is imported only in `run`: `k8saudit-tui fleet --help` and the message that says how to
install the optional dependency must work without it.
"""

from __future__ import annotations

import argparse
import glob
import logging
from typing import TYPE_CHECKING

from k8saudit_tui.commands.common import error, log_problem
from k8saudit_tui.commands.report import add_arguments as report_options
from k8saudit_tui.commands.report import checked_conditions, emit, load_policies
from k8saudit_tui.engine.logs.sources import STDIN

if TYPE_CHECKING:
    from distributed import Client

INSTALL = "the fleet needs Dask: pip install 'k8saudit-tui[fleet]'"
CONNECT_SECONDS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    report = actions.add_parser("report", help="report a policy (and a candidate) over many logs, in a Dask cluster")
    report.add_argument("--scheduler", required=True, metavar="ADDR|local", help="a Dask scheduler address, or local")
    report.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes of --scheduler local")
    report.add_argument("--shard-mb", type=int, default=64, metavar="MB", help="about how much one task reads")
    report_options(report, "GLOB", "audit log files, directories or quoted globs")


def run(args: argparse.Namespace) -> int:
    conditions = checked_conditions(args)
    if conditions is None:
        return 2
    if args.workers is not None and args.workers < 1:
        error("--workers must be at least 1")
        return 2
    if args.shard_mb < 1:
        error("--shard-mb must be at least 1")
        return 2
    for log in args.logs:
        status = _log_status(log)
        if status:
            return status
    try:
        from k8saudit_tui.fleet.report import fleet_part
    except ImportError:
        error(INSTALL)
        return 2
    evaluators = load_policies(args)
    if evaluators is None:
        return 2
    current, candidate = evaluators
    client = _client(args.scheduler, args.workers)
    if client is None:
        return 1
    try:
        policies = (current.policy, candidate.policy if candidate is not None else None)
        part = fleet_part(*policies, args.logs, client, args.shard_mb << 20, args.log_format)
    finally:
        _close(client, args.scheduler)
    from k8saudit_tui.engine.workbench.report_part import report_of

    return emit(report_of(part, *policies), part.unread, args.format, conditions)


def _log_status(log: str) -> int:
    """Why a GLOB argument gives no log, said on stderr, as an exit status (0: it may give some)."""
    if log == STDIN:
        error("the fleet reads files by path, not standard input (use report for -)")
        return 2
    if glob.has_magic(log):
        if not glob.glob(log, recursive=True):
            error(f"{log}: no file matches")
            return 1
        return 0
    found = log_problem(log)
    if found is not None:
        error(found[0])
        return found[1]
    return 0


def _client(scheduler: str, workers: int | None) -> Client | None:
    """A client of the scheduler (a LocalCluster for `local`); None, said on stderr, when it cannot
    be reached."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
        return Client(cluster)
    try:
        return Client(scheduler, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError) as problem:
        error(f"cannot reach the Dask scheduler {scheduler}: {problem}")
        return None


def _close(client: Client, scheduler: str) -> None:
    cluster = client.cluster if scheduler == "local" else None
    client.close()
    if cluster is not None:
        cluster.close()
