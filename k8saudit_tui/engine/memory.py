"""Resident memory of this process and every process it started (the parser workers).

Why the tree: loading runs in worker processes (100-230 MB each at 1M events) beside the parent,
and a limit that reads only `/proc/self` let the tree hold 2.8 GB under a 2 GiB limit. Linux
`/proc` gives each process's children (`/proc/PID/task/TID/children`); a process that ends while
we look is simply not counted. Elsewhere the peak of this process is returned (an upper bound of
its own use, blind to children), which is the best a portable call offers.
"""

from __future__ import annotations

import os

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes(pid: int | str = "self") -> int:
    """One process's resident set in bytes (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def children(pid: int | str = "self") -> list[int]:
    """The direct children of a process, from every one of its threads' `children` lists."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children", "rb") as listed:
                found.extend(int(child) for child in listed.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree_resident_mb(pid: int | str = "self") -> int:
    """Resident memory of a process (default: this one) and all its descendants, in MB."""
    own = resident_bytes(pid)
    if not own and pid == "self":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    total = own
    pending = children(pid)
    seen: set[int] = set()
    while pending:
        child = pending.pop()
        if child in seen:
            continue
        seen.add(child)
        total += resident_bytes(child)
        pending.extend(children(child))
    return total >> 20
