"""Which tokens of a token index (tokens.py) may be part of a run within a fuzzy word's edits:
the fuzzy search's prefilters (textsearch.py), kept apart so that each can be checked alone.

Contract, for a query with `edits` allowed, run lengths in [low, high] and `wanted` its
character classes: `may_fit` keeps, of ascending `picked` tokens, every one that is part of a run
meeting those bounds (alone, or beside a picked neighbour of its value); `near_texts` says per
token text (`Tokens.ids`) whether its tokens may be part of such a run at all; `single_hits`
gives the tokens of [lo, hi) whose own text is within `edits` of the query (OSA) without
holding it (those values are substring hits already), each distinct text measured once;
`paired` the tokens of [lo, hi) beside a near neighbour of the same value with which a run may
still fit. A dropped token is never part of a run that matches.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from k8saudit_tui.engine.query.take import take
from k8saudit_tui.engine.query.tokens import Tokens


def may_fit(tokens: Tokens, picked: np.ndarray, wanted: np.uint64, low: int, high: int, edits: int) -> np.ndarray:
    """Which of the `picked` tokens (ascending) may be part of a run that fits: alone, long
    enough and lacking at most `edits` of the query's classes; or beside a picked neighbour of
    the same value, the two no longer than `high` (every run of several tokens holds such a pair).

    Why: at 10M events a 2-edit word picks ~480k name tokens (`0`, `api`, `web`, ...), of which
    ~70k fit alone and few pair up; the runs are grown from the rest for nothing. The capped byte
    sizes only make a pair look shorter, so none that may fit is dropped."""
    sizes = tokens.size[picked]
    spaces = tokens.space[picked]
    pair = np.zeros(len(picked), bool)
    pair[:-1] = (np.diff(picked) == 1) & (spaces[:-1] > 0)
    pair[:-1] &= sizes[:-1].astype(np.int16) + spaces[:-1] + sizes[1:] <= high
    beside = pair.copy()
    beside[1:] |= pair[:-1]
    alone = (sizes >= min(low, 255)) & (np.bitwise_count(wanted & ~tokens.mask(picked)) <= edits)
    may: np.ndarray = beside | alone
    return may


def near_texts(tokens: Tokens, wanted: np.uint64, high: int, edits: int) -> np.ndarray:
    """Per token text: no longer than `high` (the capped size: a longer one is only kept) and
    holding at most `edits` classes the query lacks, as every token of a run within the edits."""
    near: np.ndarray = (tokens.text_size <= high) & (np.bitwise_count(tokens.text_mask & ~wanted) <= edits)
    return near


def single_hits(
    query: str, text: bytes, tokens: Tokens, near: np.ndarray, span: tuple[int, int], bounds: tuple[np.uint64, int, int]
) -> np.ndarray:
    """The tokens in span = [lo, hi) whose text alone is within the edits of `query` (OSA), for
    bounds = (the query's classes, the edits, its separators); `near` is `near_texts`. A text is
    measured once, if long enough, lacking at most `edits` of the query's classes and the query
    holding at most `edits` separators (a token holds none); its verdict is gathered over the
    tokens of the span. A text holding the query is left out: its values hold it too, and the
    substring search found them (`payments` at 10M events: a gather over 2M tokens saved)."""
    wanted, edits, apart = bounds
    lo, hi = span
    if apart > edits or hi <= lo:
        return np.zeros(0, np.int64)
    reps = tokens.reps
    low = len(query) - edits
    candidates = np.flatnonzero(
        near & (tokens.text_size >= min(low, 255)) & (np.bitwise_count(wanted & ~tokens.text_mask) <= edits)
    )
    starts, ends = tokens.start[reps[candidates]].tolist(), tokens.end[reps[candidates]].tolist()
    texts = [text[start:end].decode("utf-8", "surrogatepass") for start, end in zip(starts, ends)]
    matched = np.zeros(len(reps), bool)
    if texts:
        distances = process.cdist([query], texts, scorer=OSA.distance, score_cutoff=edits, dtype=np.int32, workers=1)
        holding = np.fromiter((query in text for text in texts), bool, len(texts))  # their values: substring hits
        matched[candidates[(distances[0] <= edits) & ~holding]] = True
    if not matched.any():
        return np.zeros(0, np.int64)
    hits: np.ndarray = np.flatnonzero(take(matched, tokens.ids[lo:hi])) + lo
    return hits


def paired(tokens: Tokens, near: np.ndarray, span: tuple[int, int], high: int) -> np.ndarray:
    """The tokens in span = [lo, hi) beside a neighbour of the same value, both of `near` texts
    (`near_texts`), the two no longer than `high` (capped sizes: only shorter): every token of a
    run of several that fits. The span's tokens of near texts are found by one gather of a
    byte per token, and only they are read."""
    lo, hi = span
    near_tokens = np.flatnonzero(take(near, tokens.ids[lo:hi])) + lo
    sizes, spaces = tokens.size[near_tokens], tokens.space[near_tokens]
    pair = (np.diff(near_tokens) == 1) & (spaces[:-1] > 0)
    pair &= sizes[:-1].astype(np.uint16) + spaces[:-1] + sizes[1:] <= high
    beside = np.zeros(len(near_tokens), bool)
    beside[:-1] = pair
    beside[1:] |= pair
    tokens_beside: np.ndarray = near_tokens[beside]
    return tokens_beside
