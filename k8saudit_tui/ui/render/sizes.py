"""Numbers as people read them in a narrow cell: bytes (`3.8 MB`) and counts (`1.2k`).

Why a module: the workbench panel and the policy pane show the same bytes, and must write them
the same way; the short counts are what a rule header falls back to when its full numbers do
not fit the pane (`render.policy`).
"""

from __future__ import annotations


def byte_size(value: float) -> str:
    """A byte count as people read one: `512 B`, `3.8 MB`, `1.2 GB`."""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover  (the loop returns at TB)


def short_count(value: int) -> str:
    """A count in at most four cells: `999`, `1.2k`, `12k`, `123k`, `1.2M` (rounded)."""
    if value < 1000:
        return str(value)
    scaled = float(value)
    for unit in ("k", "M", "G", "T"):
        scaled /= 1000
        text = f"{scaled:.1f}" if scaled < 9.95 else f"{scaled:.0f}"
        if float(text) < 1000 or unit == "T":
            return text + unit
    return str(value)  # pragma: no cover  (the loop returns at T)


def percent(part: float, whole: float, decimals: int = 1) -> str:
    """`part` as a share of `whole` (`12.3%`, `12%` with no decimals); `-` when there is no whole."""
    return f"{100 * part / whole:.{decimals}f}%" if whole else "-"
