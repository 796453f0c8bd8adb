"""The filter language as text: terms, their parse, and the errors a user sees.

Space-separated terms, all of which must hold, in alternatives separated by ` | `:

    field:value      exact            verb:create
    field:a,b        any of           verb:create,update
    !field:value     not              !stage:RequestReceived
    field:~value     fuzzy            user:~alice
    field:/regex/    regex (search)   uri:/^\\/api\\/v1\\/nodes/
    word             fuzzy search over the bare-word fields (engine.fields.BARE_WORD_FIELDS)
    a b | c d        (a and b) or (c and d): the implicit AND binds tighter than `|`
    time:A..B        a time range, A included, B excluded (`timefilter` has the grammar)
    latency:>1s      a comparison: > >= < <= = with ns us ms s m
    written:yes      yes/no (`written`, `drift`: fields of the loaded policy's verdict)
    change:dropped   same, up, down, dropped, added (the candidate policy against the loaded one)

Values may be double-quoted ("a b", or "" for the empty value). Only `!` negates: `-word` is a
bare word that starts with a hyphen (names do). Only a `|` standing alone between spaces is an
operator: inside a quoted value, a /regex/ or a word (`a|b`) it is text. An empty alternative
(`| a`, `a |`, `a | | b`) is an error, not "everything".

This module parses only: it knows no store, so that the suggester and the indexes' look-ahead read
a filter exactly as the matcher does without importing it (`filter.py` matches). `parse_groups`
and `parse_terms` raise only `FilterError`, which says which term is wrong and where it starts;
`split_terms` is the one tokenizer, used by the parser and, with `partial`, by the suggester for
the term being typed (an `OR` token is a term of its own, which names no field and is skipped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from k8saudit_tui.engine import fields
from k8saudit_tui.engine.model import LEVELS, STAGES
from k8saudit_tui.engine.query.timefilter import Comparison, TimeRange, parse_comparison, parse_time_range

FIELDS: Mapping[str, str] = MappingProxyType(
    {name: fields.by_filter_name[name].description for name in fields.FILTER_NAMES}
)
"""Filter field -> what it matches (for help and suggestions), in the table's order."""

SYNTAX: tuple[tuple[str, str], ...] = (
    ("field:value", "exact (verb:create); field:a,b any of"),
    ("!field:value", "not (only ! negates)"),
    ("field:~value", "fuzzy: a substring, or whole words within a typo (1 edit for 3-5 letters, 2 from 6)"),
    ("field:/regex/", "regular expression (escape / as \\/)"),
    ("word", "fuzzy over user, verb, resource/subresource, namespace, name; a substring of the URI"),
    ("a b | c", "a and b, or c (AND binds tighter)"),
    ("time:A..B", "received from A to B (either may be left out): 2024-05-01, 10:15, -15m"),
    ("latency:>1s", "stage time minus received time: > >= < <= =, units ns us ms s m"),
)
"""The language in a few lines, for `?` help (the README has the full definitions)."""

NEGATION = "!"
"""The one prefix that negates a term."""

OR = "|"
"""The token (standing alone) that separates alternatives."""

FLAG_VALUES = ("yes", "no")
"""The values of a yes/no field (`written`, `drift`); `written` also takes `unknown` (policy.lossy)."""
UNKNOWN = "unknown"
"""What rule:, level:, candidate: and written: take for an event whose format lost a field the policy reads."""

TermKind = Literal["exact", "fuzzy", "regex", "range", "compare"]

_CODE_CLASS = re.compile(r"[1-5]xx", re.IGNORECASE)


class FilterError(ValueError):
    """A term that does not parse: `term` is its text, `position` its 0-based start in the filter."""

    def __init__(self, term: str, position: int, message: str) -> None:
        super().__init__(f"{message} (at {position + 1}: {term!r})")
        self.term = term
        self.position = position
        self.message = message


@dataclass(frozen=True)
class Term:
    """One parsed term. `field` None is a bare word; `kind` is exact, fuzzy or regex, or range
    (a time range in `bound`) or compare (a latency comparison in `bound`)."""

    text: str
    position: int
    field: str | None
    kind: TermKind
    values: tuple[str, ...]
    negate: bool
    pattern: re.Pattern[str] | None = None
    bound: TimeRange | Comparison | None = None


def parse_groups(text: str) -> tuple[tuple[Term, ...], ...]:
    """Parse filter text into its alternatives (each a tuple of terms that must all hold); ()
    for a blank text. Raises FilterError (and nothing else) for a term that does not parse or an
    empty alternative."""
    if not isinstance(text, str):
        raise FilterError(str(text), 0, "filter text must be a string")
    groups: list[tuple[Term, ...]] = []
    current: list[Term] = []
    tokens = split_terms(text)
    for token, position in tokens:
        if token != OR:
            current.append(_parse_term(token, position))
            continue
        if not current:
            where = "at the start" if not groups else "after another '|'"
            raise FilterError(token, position, f"empty alternative {where}: write terms on both sides of ' | '")
        groups.append(tuple(current))
        current = []
    if not current and groups:
        token, position = tokens[-1]
        raise FilterError(token, position, "empty alternative at the end: write terms on both sides of ' | '")
    if current:
        groups.append(tuple(current))
    return tuple(groups)


def parse_terms(text: str) -> tuple[Term, ...]:
    """Every term of every alternative, in the order typed (for readers of the last term, such as
    the look-ahead); raises FilterError as `parse_groups` does."""
    return tuple(term for group in parse_groups(text) for term in group)


def split_terms(text: str, partial: bool = False) -> list[tuple[str, int]]:
    """Split on whitespace, keeping "quoted values" and /regex/ values (spaces allowed) whole.

    Each token comes with its start. With `partial` (text still being typed), an unterminated
    quote or regex is not an error: the rest of the text is the last token."""
    tokens: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < n and not text[i].isspace():
            char = text[i]
            if char == '"':
                end = text.find('"', i + 1)
                if end < 0 and not partial:
                    raise FilterError(text[start:], start, "unterminated quote")
                i = end + 1 if end >= 0 else n
            elif char == "/" and text[start:i].rstrip("~").endswith(":") and text.find("/", i + 1) > 0:
                end = regex_end(text, i)
                if end < 0 and not partial:
                    raise FilterError(text[start:], start, "unterminated /regex/")
                i = end + 1 if end >= 0 else n
            else:
                i += 1
        tokens.append((text[start:i], start))
    return tokens


def regex_end(text: str, opening: int) -> int:
    """Index of the `/` closing a regex that opens at `opening` (backslash escapes it), or -1."""
    i = opening + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "/":
            return i
        i += 1
    return -1


def _parse_term(token: str, position: int) -> Term:
    """One term: [!]field:value, [!]field:a,b, [!]field:~value, [!]field:/re/, or [!]word."""
    body, negate = (token[1:], True) if token.startswith(NEGATION) else (token, False)
    if not body:
        raise FilterError(token, position, "nothing after '!'")
    field, colon, value = body.partition(":")
    if not colon or field.startswith('"'):
        word = _unquote(body, token, position)
        if not word:
            raise FilterError(token, position, "empty search word")
        return Term(token, position, None, "fuzzy", (word.lower(),), negate)
    name = field.lower()
    if name not in FIELDS:
        raise FilterError(token, position, f'unknown field "{field}" (quote the term to search for text with a colon)')
    if not value:
        raise FilterError(token, position, f'missing value after "{field}:"')
    kind = fields.by_filter_name[name].kind
    if kind in ("time", "duration"):
        try:
            if kind == "time":
                return Term(token, position, name, "range", (value,), negate, bound=parse_time_range(value))
            return Term(token, position, name, "compare", (value,), negate, bound=parse_comparison(value))
        except ValueError as error:
            raise FilterError(token, position, f"{name}: {error}") from None
    if value.startswith("~"):
        query = _unquote(value[1:], token, position)
        if not query:
            raise FilterError(token, position, "missing value after '~'")
        return Term(token, position, name, "fuzzy", (query.lower(),), negate)
    if is_regex(value):
        try:
            pattern = re.compile(value[1:-1])
        except (re.error, RecursionError, OverflowError, ValueError) as error:
            raise FilterError(token, position, f"bad regex: {error}") from None
        return Term(token, position, name, "regex", (value[1:-1],), negate, pattern)
    values = tuple(_unquote(part, token, position) for part in split_values(value, token, position))
    return Term(token, position, name, "exact", _check_values(name, values, token, position), negate)


def is_regex(value: str) -> bool:
    """Whether a field's value is read as a /regex/ (and not as an exact value)."""
    return value.startswith("/") and len(value) >= 2 and value.endswith("/") and regex_end(value, 0) == len(value) - 1


def split_values(value: str, token: str, position: int) -> list[str]:
    """Split `a,b,"c,d"` on commas outside quotes."""
    parts, current, quoted = [], "", False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if any(part == "" for part in parts):
        raise FilterError(token, position, "empty value in a comma list")
    return parts


def _unquote(text: str, token: str, position: int) -> str:
    """Remove the double quotes of a quoted value ("a b" -> a b); a stray quote is an error."""
    if '"' not in text:
        return text
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and '"' not in text[1:-1]:
        return text[1:-1]
    raise FilterError(token, position, "misplaced quote")


def quote(value: str) -> str:
    """A value as it must be typed to be read back exactly (the inverse of the parse), or ""
    when no exact term can hold it (a double quote inside: the language has no escape)."""
    if '"' in value:
        return ""
    if not value or value.startswith("~") or is_regex(value) or any(c.isspace() or c == "," for c in value):
        return f'"{value}"'
    return value


def _check_values(name: str, values: tuple[str, ...], token: str, position: int) -> tuple[str, ...]:
    """Validate and normalise exact values of fields with a fixed vocabulary or a number."""
    checked = []
    for value in values:
        if name == "code":
            if not (value.isdigit() or _CODE_CLASS.fullmatch(value)):
                raise FilterError(token, position, f"code must be a number or a class like 4xx, not {value!r}")
            value = value.lower()
        elif name == "rule":
            if value.lower() in ("none", UNKNOWN):
                value = value.lower()
            elif not value.isdigit():
                message = f"rule must be a 0-based rule number, none or unknown, not {value!r}"
                raise FilterError(token, position, message)
        elif fields.by_filter_name[name].kind == "flag":
            value = value.lower()
            if value not in FLAG_VALUES and (name != "written" or value != UNKNOWN):
                choices = "yes or no (or unknown)" if name == "written" else "yes or no"
                raise FilterError(token, position, f"{name} must be {choices}, not {value!r}")
        elif name == "change":
            if value.lower() not in fields.CHANGES:
                raise FilterError(token, position, f"change must be one of {', '.join(fields.CHANGES)}")
            value = value.lower()
        elif name in ("level", "candidate", "recorded", "stage"):
            vocabulary = STAGES if name == "stage" else LEVELS if name == "recorded" else (*LEVELS, UNKNOWN)
            canonical = {v.lower(): v for v in vocabulary}.get(value.lower())
            if canonical is None and name != "recorded":
                raise FilterError(token, position, f"{name} must be one of {', '.join(vocabulary)}")
            value = canonical or value
        checked.append(value)
    return tuple(checked)
