from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telescrub.core.timeparse import (
    BEFORE_FLOOR,
    IN_FUTURE,
    UTC,
    EventTimeRule,
    add_days,
    build_datetime,
    event_date,
    format_timestamp,
    implausible_detail,
    infer_year,
    parse_timestamp,
    route_event_time,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO-8601 / RFC 3339
        ("2015-10-18T18:01:47Z", utc(2015, 10, 18, 18, 1, 47)),
        ("2015-10-18 18:01:47", utc(2015, 10, 18, 18, 1, 47)),
        ("2015-10-18 18:01:47,978", utc(2015, 10, 18, 18, 1, 47, 978000)),
        ("2017-05-16 00:00:00.008", utc(2017, 5, 16, 0, 0, 0, 8000)),
        ("2017-05-16T00:00:00.123456789Z", utc(2017, 5, 16, 0, 0, 0, 123456)),
        ("2017-05-16T02:00:00+02:00", utc(2017, 5, 16)),
        ("2017-05-16T02:00:00+0200", utc(2017, 5, 16)),
        ("2017-05-15T22:00:00-02", utc(2017, 5, 16)),
        ("2017-05-16T00:00:00 UTC", utc(2017, 5, 16)),
        ("2015-10-18", utc(2015, 10, 18)),
        ("2016/09/27 20:30:31", utc(2016, 9, 27, 20, 30, 31)),
        ("  2015-10-18T18:01:47Z  ", utc(2015, 10, 18, 18, 1, 47)),
        ("2015-10-18T18:01:47Z" + " " * 100, utc(2015, 10, 18, 18, 1, 47)),
        ("2016-12-31T23:59:60Z", utc(2016, 12, 31, 23, 59, 59)),  # leap second clamped
        # epoch numbers
        (1445144423, utc(2015, 10, 18, 5, 0, 23)),
        (1445144423.5, utc(2015, 10, 18, 5, 0, 23, 500000)),
        (1445144423722, utc(2015, 10, 18, 5, 0, 23, 722000)),
        ("1445144423", utc(2015, 10, 18, 5, 0, 23)),
        ("1445144423722", utc(2015, 10, 18, 5, 0, 23, 722000)),
        ("1445144423.25", utc(2015, 10, 18, 5, 0, 23, 250000)),
        # RFC 2822
        ("Tue, 25 Nov 2025 10:12:01 +0000", utc(2025, 11, 25, 10, 12, 1)),
        ("25 Nov 2025 10:12:01 GMT", utc(2025, 11, 25, 10, 12, 1)),
        ("Tue, 25 Nov 2025 05:12:01 EST", utc(2025, 11, 25, 10, 12, 1)),
        ("Tue, 25 Nov 25 10:12 +0100", utc(2025, 11, 25, 9, 12)),
        # Apache / NCSA access log
        ("25/Nov/2026:10:12:01 +0000", utc(2026, 11, 25, 10, 12, 1)),
        ("25/Nov/2026:10:12:01 -0500", utc(2026, 11, 25, 15, 12, 1)),
        ("25/nov/2026:10:12:01", utc(2026, 11, 25, 10, 12, 1)),
        # ctime / Apache error log
        ("Sun Dec 04 04:47:44 2005", utc(2005, 12, 4, 4, 47, 44)),
        ("Dec  4 04:47:44 2005", utc(2005, 12, 4, 4, 47, 44)),
        ("Wed Oct 11 14:32:52.123456 2000", utc(2000, 10, 11, 14, 32, 52, 123456)),
        # HDFS
        ("081109 203615", utc(2008, 11, 9, 20, 36, 15)),
        # datetime objects
        (datetime(2020, 1, 1, 12), utc(2020, 1, 1, 12)),
        (datetime(2020, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))), utc(2019, 12, 31, 23)),
        (date(2020, 2, 29), utc(2020, 2, 29)),
    ],
)
def test_parse_timestamp_accepts(value: object, expected: datetime) -> None:
    got = parse_timestamp(value)
    assert got == expected
    assert got is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        "",
        "   ",
        "hello",
        "2015-13-01",
        "2015-02-30T00:00:00",
        "2015-10-18T25:00:00",
        "2015-10-18T10:00:00+25:00",
        "Sun Foo 04 04:47:44 2005",
        "32/Nov/2026:10:12:01 +0000",
        "081399 203615",
        0,
        12345,  # a counter, not a time
        -1445144423,
        10**30,
        float("nan"),
        float("inf"),
        "NaN",
        "1e400",
        "4102444800",  # 2100-01-01: outside the plausible epoch range
        "946684799",  # 1999-12-31T23:59:59
        "x" * 10_000,
        b"2015-10-18",
        ["2015-10-18"],
        {"ts": "2015-10-18"},
    ],
)
def test_parse_timestamp_rejects(value: object) -> None:
    assert parse_timestamp(value) is None


def test_epoch_range_edges() -> None:
    assert parse_timestamp(946684800) == utc(2000, 1, 1)
    assert parse_timestamp(4102444799) == utc(2099, 12, 31, 23, 59, 59)
    assert parse_timestamp(946684800000) == utc(2000, 1, 1)
    assert parse_timestamp(4102444800) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-10-18T23:30:00-02:00", "2015-10-19"),  # UTC date, not local
        ("2015-10-18", "2015-10-18"),
        (1445144423, "2015-10-18"),
        ("Sun Dec 04 04:47:44 2005", "2005-12-04"),
        ("garbage", None),
        (None, None),
    ],
)
def test_event_date(value: object, expected: str | None) -> None:
    assert event_date(value) == expected


@pytest.mark.parametrize(
    ("dt", "text"),
    [
        (utc(2015, 10, 18, 18, 1, 47), "2015-10-18T18:01:47Z"),
        (utc(2015, 10, 18, 18, 1, 47, 978000), "2015-10-18T18:01:47.978Z"),
        (utc(2015, 10, 18, 18, 1, 47, 978123), "2015-10-18T18:01:47.978123Z"),
        (
            datetime(2015, 10, 18, 20, 1, 47, tzinfo=timezone(timedelta(hours=2))),
            "2015-10-18T18:01:47Z",
        ),
        (datetime(5, 1, 2), "0005-01-02T00:00:00Z"),
    ],
)
def test_format_timestamp(dt: datetime, text: str) -> None:
    assert format_timestamp(dt) == text


def test_infer_year() -> None:
    now = utc(2026, 1, 5, 12)
    assert infer_year(12, 31, now=now) == 2025  # December line read in January
    assert infer_year(1, 5, now=now) == 2026
    assert infer_year(1, 6, now=now) == 2026  # within a day of the future: clock skew
    assert infer_year(1, 7, now=now) == 2025
    assert infer_year(12, 31, default_year=2019, now=now) == 2019
    assert infer_year(2, 29, now=now) == 2026  # the date will then fail, not the year


def test_build_datetime_rejects_impossible() -> None:
    assert build_datetime(2023, 2, 29) is None
    assert build_datetime(2024, 2, 29) == utc(2024, 2, 29)
    assert build_datetime(0, 1, 1) is None
    assert build_datetime(9999, 12, 31, 23, 59, 59, None, timezone(timedelta(hours=-5))) is None


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()


@settings(max_examples=300, deadline=None)
@given(st.one_of(_json_scalars, st.binary(), st.datetimes(), st.dates(), st.lists(st.integers())))
def test_never_raises(value: object) -> None:
    dt = parse_timestamp(value)
    assert dt is None or dt.utcoffset() == timedelta(0)
    d = event_date(value)
    assert d is None or len(d) == 10


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789-/:., TZ+SunDecNovJanGMT", max_size=40))
def test_never_raises_on_timestamp_like_text(value: str) -> None:
    parse_timestamp(value)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)
    )
)
def test_format_round_trips(dt: datetime) -> None:
    assert parse_timestamp(format_timestamp(dt)) == dt


# --------------------------------------------------- column-wise event dates (Arrow)

import pyarrow as pa  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from telescrub.core.timeparse import event_dates  # noqa: E402

_STAMPS = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z"),
    st.datetimes().map(lambda d: d.isoformat(sep=" ") + "Z"),
    st.datetimes().map(lambda d: d.isoformat() + "+05:30"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z\Z"),
    st.text(max_size=12), st.none())


@settings(max_examples=200, deadline=None)
@given(st.lists(_STAMPS, max_size=20))
def test_event_dates_of_a_column_are_event_date_of_each_value(values):
    assert event_dates(pa.array(values, pa.string())).to_pylist() == \
        [event_date(v) for v in values]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**45)), max_size=10))
def test_event_dates_of_epoch_numbers(values):
    assert event_dates(pa.array(values, pa.int64())).to_pylist() == \
        [event_date(v) for v in values]
# ------------------------------------------------------------ edge dates: plausibility, arithmetic
NOW = utc(2026, 11, 25)
RULE = EventTimeRule()  # the bundled policy's: floor 2000-01-01, 1 day of future tolerance
OPEN = EventTimeRule(None, None)


@pytest.mark.parametrize(
    ("day", "days", "expected"),
    [
        (date(2026, 11, 25), 28, date(2026, 12, 23)),
        (date(9999, 12, 31), 28, date.max),  # the "never expires" sentinel
        (date(9999, 12, 4), 28, date.max),
        (date(9999, 12, 3), 28, date(9999, 12, 31)),
        (date.max, 1, date.max),
        (date.min, -1, date.min),
        (date(1, 1, 29), -28, date.min),
        (date(1, 1, 1), 36500, date(100, 12, 8)),
        (date(2026, 1, 1), 10**12, date.max),  # beyond timedelta's range: still saturates
        (date(2026, 1, 1), -(10**12), date.min),
    ],
)
def test_add_days_saturates_instead_of_overflowing(day: date, days: int, expected: date) -> None:
    assert add_days(day, days) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T12:00:00Z", ("2026-11-25", None)),
        ("2000-01-01T00:00:00Z", ("2000-01-01", None)),  # the floor itself is plausible
        ("1999-12-31T23:59:59Z", (None, BEFORE_FLOOR)),
        ("2026-11-26T00:00:00Z", ("2026-11-26", None)),  # now + 1 day exactly
        ("2026-11-26T00:00:01Z", (None, IN_FUTURE)),
        ("9999-12-31T23:59:59Z", (None, IN_FUTURE)),  # "never expires"
        ("9999-12-31", (None, IN_FUTURE)),
        ("Fri Dec 31 23:59:59 9999", (None, IN_FUTURE)),
        ("31/Dec/9999:23:59:59 +0000", (None, IN_FUTURE)),
        ("0001-01-01T00:00:00Z", (None, BEFORE_FLOOR)),  # year 1
        ("0001-01-01", (None, BEFORE_FLOOR)),
        ("1970-01-01T00:00:00Z", (None, BEFORE_FLOOR)),  # epoch 0 spelt as a date
        (datetime.max, (None, IN_FUTURE)),
        (date.min, (None, BEFORE_FLOOR)),
        (4102444799, (None, IN_FUTURE)),  # 2099-12-31, the last plausible epoch number
        (1764028800000, ("2025-11-25", None)),  # epoch milliseconds
        # not a timestamp at all: the null partition, no reason (as before)
        (0, (None, None)),  # epoch 0 as a number: a counter
        (-1, (None, None)),  # negative epochs
        (-62135596800, (None, None)),  # 0001-01-01 in epoch seconds
        ("-1445144423", (None, None)),
        (253402300799, (None, None)),  # 9999-12-31T23:59:59 in epoch seconds: out of range
        (253402300799999, (None, None)),
        ("99999999999999999999", (None, None)),
        (10**400, (None, None)),
        ("10000-01-01T00:00:00Z", (None, None)),  # out-of-range strings
        ("0000-01-01", (None, None)),
        ("9999-12-31T23:59:59-01:00", (None, None)),  # past 9999-12-31 in UTC
        ("0001-01-01T00:00:00+01:00", (None, None)),  # before 0001-01-01 in UTC
        ("31/Dec/9999:23:59:59 -0100", (None, None)),
        ("9999-99-99", (None, None)),
        (float("inf"), (None, None)),
    ],
)
def test_route_event_time_edges(value: object, expected: tuple) -> None:
    assert route_event_time(value, RULE, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9999-12-31T23:59:59Z", "9999-12-31"),
        ("0001-01-01T00:00:00Z", "0001-01-01"),
        ("1970-01-01T00:00:00Z", "1970-01-01"),
        (datetime.max, "9999-12-31"),
    ],
)
def test_without_bounds_every_representable_date_is_an_event_date(value: object,
                                                                  expected: str) -> None:
    assert route_event_time(value, OPEN, NOW) == (expected, None)


def test_a_now_near_the_end_of_time_never_overflows() -> None:
    end = datetime(9999, 12, 31, 12, tzinfo=UTC)
    assert route_event_time("9999-12-31T23:59:59Z", RULE, end) == ("9999-12-31", None)
    assert route_event_time("9999-12-31", EventTimeRule(None, 36500), NOW) == (None, IN_FUTURE)


def test_implausible_details_never_quote_the_value() -> None:
    assert implausible_detail(BEFORE_FLOOR, RULE) == (
        "event time before 2000-01-01 (policy event_time.earliest)")
    assert "1 day(s)" in implausible_detail(IN_FUTURE, RULE)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                    timezones=st.just(UTC)),
       st.sampled_from([format_timestamp, lambda d: d, lambda d: d.date().isoformat()]))
def test_any_date_from_year_1_to_9999_routes_without_raising(when: datetime, spell) -> None:
    value = spell(when)
    day, why = route_event_time(value, RULE, NOW)
    assert (day is None) != (why is None)
    want = event_date(value)
    if why is None:
        assert day == want and "2000-01-01" <= day <= "2026-11-26"
    else:
        assert why == (BEFORE_FLOOR if want < "2000-01-01" else IN_FUTURE)
    assert route_event_time(value, OPEN, NOW) == (want, None)
    assert add_days(date.fromisoformat(want), 36500) >= date.fromisoformat(want)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=40), st.none(), st.booleans()))
def test_route_event_time_never_raises(value: object) -> None:
    day, why = route_event_time(value, RULE, NOW)
    assert day is None or len(day) == 10
    assert why in (None, BEFORE_FLOOR, IN_FUTURE)


@settings(max_examples=200, deadline=None)
@given(st.lists(_STAMPS, max_size=20), st.sampled_from([
    EventTimeRule(), EventTimeRule(None, None), EventTimeRule(date(2026, 11, 20), 0),
    EventTimeRule(date(1999, 12, 31), 3, "quarantine")]),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
def test_route_event_dates_of_a_column_are_route_event_time_of_each_value(values, rule, now):
    from telescrub.core.timeparse import route_event_dates

    now = now.replace(tzinfo=UTC)
    days, whys = route_event_dates(pa.array(values, pa.string()), rule, now)
    assert list(zip(days.to_pylist(), whys.to_pylist(), strict=True)) == \
        [route_event_time(v, rule, now) for v in values]
