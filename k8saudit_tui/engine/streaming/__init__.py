"""Headless commands without a store: parse, filter and count each range of a log where it is
read, keep only the answer (`export` streams the selected events, `top` merges counts).

Modules: `prefilter` (which lines cannot match, from their bytes), `narrow` (a filter of exact
terms decided on each decoded line, no store), `narrow_job` (the narrow path's worker job, which
imports neither the query nor the store package), `exact_text` (such a filter read from its text
without them), `ranges` (a range in a small store of its own,
under the policies and the filter), `jobs` (the per-range jobs the worker pool
runs), `pipeline` (inputs to ranges to answers, in order; the first pass of a filter read against
the log's end), `output` (writing in the store's view order), `export`, `top`.
"""
