"""The export formats, in one light module (no store, no query, no numpy).

Contract: `Format` names what `export` writes and FORMATS lists it, in the order the explorer's
export dialog offers it; STREAMED_FORMATS are those the headless command writes without a store
(engine.streaming.export: parquet is one file whose row groups need the whole selection);
ORIGINAL_LINE_FORMATS those that write each event's original line (what the narrow path renders).

Why a module of its own: the command line checks `--format` before it imports the store
(engine.export) or the streamed export, which both read these; a copy in the command would have
to be kept equal by hand.
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["jsonl", "csv", "json", "parquet"]
FORMATS: tuple[str, ...] = get_args(Format)
STREAMED_FORMATS: tuple[str, ...] = ("jsonl", "json", "csv")
ORIGINAL_LINE_FORMATS: tuple[str, ...] = ("jsonl", "json")
