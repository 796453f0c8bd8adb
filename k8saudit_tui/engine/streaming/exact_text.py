"""Reading the text of a plain exact filter (`user:alice@example.com`, `verb:create,update
!ns:kube-system | resource:pods`) without the query package.

Why: `compile_filter` lives in `engine.query`, whose import brings the store package with it
(~0.15 s before an export can plan its first range, measured). A streamed export of the narrow
path needs no compiled filter: only its terms as plain data (`narrow.Spec`), which is what its
workers are sent. This reads the common case of such texts; anything else goes to the language.

Contract (`parse_exact`): for a text it accepts, the result equals `spec_of(compile_filter(text))`
and `compile_filter(text)` raises nothing (tested over generated texts against the language:
`tests/test_streaming_lean.py`). It accepts only what it reads surely: ASCII letters, digits and
`@._:+=-` in values, space-separated terms, `!` only at a term's start, ` | ` standing alone
between alternatives, exact terms on the narrow fields. No quotes, no `/`, no `~`, no bare words,
no other whitespace: for those it returns None and the caller compiles the text, which also says
what is wrong with a text that does not parse. `narrow_spec` is the one decision of whether a
filter (its text, or compiled) is read on the decoded lines, for `export` and `top`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from k8saudit_tui.engine.model import STAGES
from k8saudit_tui.engine.streaming.narrow import GETTERS, Spec, spec_of

if TYPE_CHECKING:  # read, never imported here (see above)
    from k8saudit_tui.engine.query.filter import Filter

_FIELDS = frozenset([*GETTERS, "resource"])
_TERM = re.compile(r"(!?)([A-Za-z]+):([A-Za-z0-9@._:+=-]+(?:,[A-Za-z0-9@._:+=-]+)*)")
"""One term: negation, field, comma-separated values (none empty)."""
_STAGES = {stage.lower(): stage for stage in STAGES}
"""`language._check_values`: a stage is named in any case and stored as the vocabulary's."""


def parse_exact(text: str) -> Spec | None:
    """The spec of `text` when it is a plain exact filter on the narrow fields, else None."""
    if not isinstance(text, str):
        return None
    groups: list[tuple[tuple[str, tuple[str, ...], bool], ...]] = []
    terms: list[tuple[str, tuple[str, ...], bool]] = []
    for token in text.split(" "):
        if not token:
            continue
        if token == "|":
            if not terms:
                return None  # an empty alternative: the language's error
            groups.append(tuple(terms))
            terms = []
            continue
        term = _term(token)
        if term is None:
            return None
        terms.append(term)
    if groups and not terms:
        return None
    if terms:
        groups.append(tuple(terms))
    return tuple(groups)


def _term(token: str) -> tuple[str, tuple[str, ...], bool] | None:
    found = _TERM.fullmatch(token)
    if found is None:
        return None
    negate, field, value = found.groups()
    name = field.lower()
    if name not in _FIELDS:
        return None
    values = tuple(value.split(","))
    if name == "stage":
        canonical = tuple(_STAGES.get(stage.lower(), "") for stage in values)
        if "" in canonical:
            return None  # not a stage: the language's error
        values = canonical
    return name, values, bool(negate)


def narrow_spec(selection: Filter | str) -> tuple[Spec, str] | None:
    """(spec, text) of a filter of exact terms whose text compiles to the same terms, which a
    worker can rebuild from the text (a text that `exact_text` reads is not compiled here), else
    None."""
    if isinstance(selection, str):
        spec = parse_exact(selection)
        return None if spec is None else (spec, selection)
    spec = spec_of(selection)
    if spec is None:
        return None
    from k8saudit_tui.engine.query.filter import compile_filter  # imported already: `selection` is one
    from k8saudit_tui.engine.query.language import FilterError

    try:
        same = spec_of(compile_filter(selection.text)) == spec
    except FilterError:  # a Filter made by hand: the workers could not compile its text
        return None
    return (spec, selection.text) if same else None
