"""The vectorised timestamp parser equals the plain one-by-one parser, and format_time inverts it."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from k8saudit_tui.engine.logs.timestamps import _slow_time, format_time, parse_times

_MOMENTS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999))


def apiserver_shape(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(27, "0")


_DIGIT = st.sampled_from("0123456789")
_SHAPED_GARBAGE = st.lists(_DIGIT, min_size=20, max_size=20).map(
    lambda d: "{}{}{}{}-{}{}-{}{}T{}{}:{}{}:{}{}.{}{}{}{}{}{}Z".format(*d)
)
"""The apiserver's shape with any digits: impossible dates and times the fast path must refuse."""


@given(st.lists(st.one_of(_MOMENTS.map(apiserver_shape), _SHAPED_GARBAGE, st.text(max_size=30)), max_size=40))
def test_fast_path_equals_the_plain_parser(stamps: list[str]) -> None:
    """The byte-matrix path (apiserver shape) and the fallback give what `_slow_time` gives."""
    assert parse_times(stamps).tolist() == [_slow_time(stamp) if stamp.strip() else 0 for stamp in stamps]


_TWENTY_SEVEN = st.text(alphabet=st.characters(codec="utf-8"), min_size=27, max_size=27)
"""27 characters of anything, ASCII or not: the length of the shape, so the joined path is tried."""


@given(st.lists(st.one_of(_MOMENTS.map(apiserver_shape), _SHAPED_GARBAGE, _TWENTY_SEVEN), max_size=40))
def test_the_joined_path_for_27_character_stamps_equals_the_plain_parser(stamps: list[str]) -> None:
    """Every stamp 27 characters long: they are joined and encoded at once, unless one is not ASCII."""
    assert parse_times(stamps).tolist() == [_slow_time(stamp) if stamp.strip() else 0 for stamp in stamps]


@given(_MOMENTS.filter(lambda moment: 1970 <= moment.year <= 2261 and moment != datetime(1970, 1, 1)))
def test_format_time_inverts_parse_times(moment: datetime) -> None:
    """Every time but the epoch itself, which is 0, the "no time" value (shown empty)."""
    stamp = apiserver_shape(moment)
    nanos = int(parse_times([stamp])[0])
    assert nanos == int(moment.replace(tzinfo=UTC).timestamp()) * 1_000_000_000 + moment.microsecond * 1000
    assert format_time(nanos) == stamp


def test_other_iso_shapes_and_garbage() -> None:
    assert parse_times(["2024-05-14T09:00:00.123456789Z", "2024-05-14T11:00:00+02:00", "yesterday", ""]).tolist() == [
        1715677200123456789,
        1715677200000000000,
        0,
        0,
    ]


def test_times_outside_the_int64_range_are_unreadable_not_wrapped_or_a_crash() -> None:
    """Year 2263 wrapped to a negative time on the fast path and raised OverflowError on the slow
    one (which failed the whole chunk); year 0 parsed on the fast path only."""
    stamps = ["2263-01-01T00:00:00.000000Z", "2263-01-01T00:00:00+00:00", "0000-01-01T00:00:00.000000Z"]
    assert parse_times(stamps).tolist() == [0, 0, 0]
    assert parse_times(["2262-04-10T00:00:00.000000Z"]).tolist() == [9223200000000000000]


def test_a_non_ascii_digit_in_the_fraction_is_unreadable_not_a_crash() -> None:
    """`"²".isdigit()` is True but `int("²")` raises: the slow path raised ValueError (chunk lost)."""
    assert parse_times(["2000-01-01T00:00:00.²Z", ".²"]).tolist() == [0, 0]
