"""The fleet: `report` over many sharded audit logs, evaluated in parallel inside Dask.

Contract: `report_fleet(policy, candidate, paths_or_globs, client=None)` gives the same `Report`
as `k8saudit-tui report` over the same files (the same JSON: both merge the engine's
`ReportPart`s of the same shards, see engine/workbench/report_part.py), with the shards read as
Dask tasks. `k8saudit-tui fleet report` is its command line, with `report`'s output and exit
statuses. Optional: `pip install 'k8saudit-tui[fleet]'` (dask[distributed]); the engine, the TUI
and the other commands never import this package or Dask (an import-linter contract says so).

Why Dask, and not a cluster of our own, Ray or Spark: the user is a security team with weeks of
logs from many clusters, on a laptop or on whatever cluster their data team already runs. Dask is
pip-installable with no JVM and no daemon (Spark needs a JVM, and Python UDFs cross into it row by
row); it runs the same code on a laptop (`LocalCluster`, worker processes) and on an existing
cluster (`dask-scheduler` on Kubernetes, YARN, HPC, or a hosted one: a scheduler address); and a
task is a plain Python function over plain Python values, which is exactly what a shard is (Ray
would do that too, but brings its own object store and runtime to install and operate). What
crosses the network is small: the policies once (scattered), shard descriptions out, report parts
(counters) back, combined on the workers in a tree.
"""
