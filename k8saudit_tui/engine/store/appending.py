"""A parsed batch's columns as the store holds them: codes remapped to the store's dictionaries,
rows placed in their file (EventList items in the store's item spool), line numbers made
absolute, offsets, times and latencies narrowed (narrow.py), auditIDs keyed.

Contract: `batch_columns(store, batch, file, base_line)` gives one array per store column, each of
`batch.count` rows, for `EventStore.append` to copy in under its lock; it interns the batch's new
values in the store's dictionaries (and places its items) as a side effect, as appending must.
The store's friend, as cache_state.py is: it reads the store's private fields so that columns.py
stays the read/append API under its size limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from k8saudit_tui.engine.logs import auditid_keys
from k8saudit_tui.engine.logs.batch import ITEM_FILE, Batch
from k8saudit_tui.engine.store import narrow

if TYPE_CHECKING:
    from k8saudit_tui.engine.store.columns import EventStore


def batch_columns(store: EventStore, batch: Batch, file: int, base_line: int) -> dict[str, np.ndarray]:
    """A batch's columns with codes remapped to the store's dictionaries (codes.py)."""
    codes = store._codes
    columns = codes.remap(batch)
    files = batch.file.astype(np.int16)
    offsets = batch.offset.astype(np.int64)
    items = files == ITEM_FILE
    if items.any():
        item_file, placed = store._items.place(
            batch.items, file, lambda source, path: store.add_file(store.files[source].name, path)
        )
        offsets[items] = np.asarray(placed, np.int64)[offsets[items]]
        files[items] = item_file
    files[~items] = file
    columns["file"] = files
    for name, values in (("offset", offsets), ("length", batch.length), ("line", batch.line + base_line)):
        columns[name], columns[narrow.high(name)] = narrow.encode_split(name, values)
    columns["time"], columns["time_high"] = narrow.encode_times(batch.time, codes.times.code)
    columns["latency"] = narrow.encode_latencies(batch.latency, codes.latencies.code)
    columns["code"] = batch.code
    keys = batch.auditid
    auditid_keys.with_codes(keys, batch.other_auditids, codes.auditids.code)
    columns["auditid"] = keys
    if len(batch.format):  # unwrapped from a cloud or shipper format (raw rows keep 0)
        columns["format"] = batch.format
    return columns
