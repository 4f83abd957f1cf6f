"""Lenient timestamp parsing for event dates.

:func:`parse_timestamp` accepts the timestamp spellings found in telemetry fields and log
lines and returns an *aware* :class:`~datetime.datetime` converted to UTC, or ``None``.
It never raises. Accepted inputs:

* ISO-8601 / RFC 3339: ``2015-10-18T18:01:47Z``, ``2015-10-18 18:01:47,978``,
  ``2017-05-16 00:00:00.008+02:00``, ``2015-10-18`` (midnight), ``2016/09/27 20:30:31``;
  ``T`` or space(s) between date and time, ``.`` or ``,`` before the fraction (up to 9
  digits, truncated to microseconds), ``Z``/``UTC``/``GMT``/``+hh``/``+hhmm``/``+hh:mm``.
  A leap second ``:60`` is clamped to ``:59``.
* Epoch numbers (``int``/``float`` or numeric strings): seconds if the value falls in
  [2000-01-01, 2100-01-01), else milliseconds if *that* falls in the range; anything
  else (small counters, ids, ``bool``) is not a timestamp.
* RFC 2822 (e-mail/HTTP): ``Tue, 25 Nov 2026 10:12:01 +0000`` (weekday optional, named US
  zones and ``GMT``/``UT``; unknown zone names count as UTC; two-digit years 00-49 → 20xx,
  50-99 → 19xx).
* Apache/NCSA access log: ``25/Nov/2026:10:12:01 +0000`` (offset optional).
* ctime / Apache error log: ``Sun Dec 04 04:47:44 2005`` (weekday optional, not
  checked; optional fraction as in Apache 2.4 ``Wed Oct 11 14:32:52.123456 2000``).
* HDFS: ``081109 203615`` (``yyMMdd HHmmss``, years 2000-2099).

Naive times (no zone) are taken as UTC. Only epoch numbers are range-checked; an explicit
date such as ``1999-01-01`` is returned as written. Month names are matched in English,
independent of the process locale. ``datetime``/``date`` objects are accepted too.

:func:`event_date` gives ``'YYYY-MM-DD'`` (UTC) for a value, :func:`format_timestamp` the
normalised string used in the ``timestamp`` field of text-log records
(``2015-10-18T18:01:47.978Z``), :func:`build_datetime` and :func:`infer_year` are the
building blocks the log-line parser in :mod:`telescrub.formats.readers` uses.

Plausibility and date arithmetic (the policy's ``event_time`` section):
:func:`route_event_time` is what the engine calls for a record's event time: the event date,
or ``None`` and the reason why the time is not believable (before the policy's floor, or later
than the run's start plus a tolerance: ``9999-12-31`` "never expires" sentinels, clocks reset
to 1970 or year 1). :func:`add_days` is the one date + days of retention and purge; it
saturates at ``0001-01-01`` / ``9999-12-31`` instead of raising ``OverflowError``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "UTC",
    "EventTimeRule",
    "add_days",
    "build_datetime",
    "event_date",
    "format_timestamp",
    "implausible_detail",
    "infer_year",
    "month_number",
    "parse_timestamp",
    "parse_tz",
    "route_event_time",
]

UTC = timezone.utc

#: Plausible epoch range for numbers: [2000-01-01, 2100-01-01) UTC.
EPOCH_MIN = 946_684_800
EPOCH_MAX = 4_102_444_800

#: Longest string :func:`parse_timestamp` looks at; longer strings are not timestamps.
MAX_TIMESTAMP_CHARS = 64

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}

_NAMED_ZONES = {
    "Z": 0,
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}

_TZ = r"(?:[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)"

_ISO = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:(?:[Tt]|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>" + _TZ + r")?"
)
_NUMBER = re.compile(r"[+-]?\d{1,16}(?:\.\d{1,9})?")
_ACCESS = re.compile(
    r"(?P<d>\d{1,2})/(?P<mon>[A-Za-z]{3})/(?P<y>\d{4}):(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\s+(?P<tz>[+-]\d{4}))?"
)
_CTIME = re.compile(
    r"(?:[A-Za-z]{3}\s+)?(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+"
    r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?\s+(?P<y>\d{4})"
)
_HDFS = re.compile(r"(?P<y>\d{2})(?P<mo>\d{2})(?P<d>\d{2})\s(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})")
_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})\s+(?P<y>\d{2}|\d{4})\s+"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?:(?P<tz>[+-]\d{4})|(?P<zname>[A-Za-z]{1,5})))?"
)


def month_number(name: str) -> int | None:
    """``'Nov'`` → 11 (English three-letter abbreviation, any case); else ``None``."""
    return _MONTHS.get(name.lower()) if len(name) == 3 else None


def parse_tz(text: str | None) -> timezone | None:
    """``Z``/``UTC``/``GMT``/``+hh``/``+hhmm``/``+hh:mm`` → a fixed-offset timezone.

    ``None``/empty → ``None`` (meaning "naive, take as UTC"). Raises ``ValueError`` for an
    unusable offset (|offset| ≥ 24 h or minutes ≥ 60).
    """
    if not text:
        return None
    upper = text.upper()
    if upper in _NAMED_ZONES:
        return timezone(timedelta(hours=_NAMED_ZONES[upper]))
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    if minutes >= 60:
        raise ValueError("bad offset minutes")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def build_datetime(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    fraction: str | None = None,
    tz: timezone | None = None,
) -> datetime | None:
    """Validated parts → an aware UTC datetime, or ``None`` if the parts make no date.

    *fraction* is the digit string after the decimal separator (any length; truncated to
    microseconds). A naive time (*tz* ``None``) is taken as UTC.
    """
    try:
        if second == 60:
            second = 59
        micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
        dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz or UTC)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError, TypeError):
        return None


def infer_year(
    month: int, day: int, *, default_year: int | None = None, now: datetime | None = None
) -> int:
    """The year for a timestamp written without one (RFC 3164 syslog, logcat, ...).

    With *default_year* given, that year. Otherwise the current UTC year (of *now*), minus
    one when the date would then lie more than a day in the future (a December line read
    in January belongs to last year) — the rule rsyslog uses.
    """
    if default_year is not None:
        return default_year
    now = now or datetime.now(UTC)
    year = now.year
    try:
        candidate = datetime(year, month, day, tzinfo=UTC)
    except ValueError:  # Feb 29 outside a leap year: keep the year, the date will fail
        return year
    if candidate - now > timedelta(days=1):
        return year - 1
    return year


def _from_epoch(value: float) -> datetime | None:
    if not math.isfinite(value):
        return None
    if EPOCH_MIN <= value < EPOCH_MAX:
        seconds = value
    elif EPOCH_MIN <= value / 1000 < EPOCH_MAX:
        seconds = value / 1000
    else:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _g(m: re.Match[str], name: str, default: int = 0) -> int:
    text = m.group(name)
    return int(text) if text else default


def _parse_string(s: str) -> datetime | None:
    s = s.strip()
    if not s or len(s) > MAX_TIMESTAMP_CHARS:
        return None
    first = s[0]
    if first.isdigit() or first in "+-":
        if _NUMBER.fullmatch(s):
            return _from_epoch(float(s))
        m = _ISO.fullmatch(s)
        if m:
            return build_datetime(
                _g(m, "y"),
                _g(m, "mo"),
                _g(m, "d"),
                _g(m, "h"),
                _g(m, "mi"),
                _g(m, "s"),
                m.group("f"),
                parse_tz(m.group("tz")),
            )
        m = _ACCESS.fullmatch(s)
        if m:
            month = month_number(m.group("mon"))
            if month is None:
                return None
            return build_datetime(
                _g(m, "y"),
                month,
                _g(m, "d"),
                _g(m, "h"),
                _g(m, "mi"),
                _g(m, "s"),
                None,
                parse_tz(m.group("tz")),
            )
        m = _HDFS.fullmatch(s)
        if m:
            return build_datetime(
                2000 + _g(m, "y"), _g(m, "mo"), _g(m, "d"), _g(m, "h"), _g(m, "mi"), _g(m, "s")
            )
    m = _CTIME.fullmatch(s)
    if m:
        month = month_number(m.group("mon"))
        if month is None:
            return None
        return build_datetime(
            _g(m, "y"), month, _g(m, "d"), _g(m, "h"), _g(m, "mi"), _g(m, "s"), m.group("f")
        )
    m = _RFC2822.fullmatch(s)
    if m:
        month = month_number(m.group("mon"))
        if month is None:
            return None
        year = _g(m, "y")
        if len(m.group("y")) == 2:
            year += 2000 if year < 50 else 1900
        zname = m.group("zname")
        if m.group("tz"):
            tz = parse_tz(m.group("tz"))
        elif zname and zname.upper() in _NAMED_ZONES:
            tz = parse_tz(zname)
        else:
            tz = None  # RFC 2822: unknown zone names are treated as UTC
        return build_datetime(
            year, month, _g(m, "d"), _g(m, "h"), _g(m, "mi"), _g(m, "s"), None, tz
        )
    return None


def _parse(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int):
        if abs(value) > 10**15:
            return None
        return _from_epoch(float(value))
    if isinstance(value, float):
        return _from_epoch(value)
    if isinstance(value, str):
        return _parse_string_cached(value)
    return None


@functools.lru_cache(maxsize=4096)
def _parse_string_cached(value: str) -> datetime | None:
    # a record's event time is parsed twice in a row (keep guard, then its event date) and
    # telemetry repeats time stamps: a small cache halves the parsing
    return _parse_string(value)


def parse_timestamp(value: Any) -> datetime | None:
    """Parse *value* (see the module doc for accepted forms) → aware UTC datetime or ``None``.

    Never raises.
    """
    try:
        return _parse(value)
    except Exception:  # noqa: BLE001 - the contract is "never raises"
        return None


def format_timestamp(dt: datetime) -> str:
    """Normalised ISO-8601 UTC string: ``2015-10-18T18:01:47Z``, ``...47.978Z``,
    ``...47.978123Z`` (fraction only when non-zero; milliseconds when they suffice)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    if dt.microsecond:
        if dt.microsecond % 1000 == 0:
            text += f".{dt.microsecond // 1000:03d}"
        else:
            text += f".{dt.microsecond:06d}"
    return text + "Z"


def event_date(value: Any) -> str | None:
    """``'YYYY-MM-DD'`` (UTC) of a parseable timestamp value, else ``None``. Never raises."""
    dt = parse_timestamp(value)
    if dt is None:
        return None
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"


# ------------------------------------------------------------------ plausibility, arithmetic

#: reasons an event time is not used as the event date (counted per table in the report)
BEFORE_FLOOR = "before_floor"
IN_FUTURE = "in_future"
#: where a record with an implausible event time goes (policy ``event_time.implausible``)
IMPLAUSIBLE_ACTIONS = ("null_partition", "quarantine")
#: the quarantine reason of such a record (``implausible: quarantine``)
IMPLAUSIBLE_REASON = "implausible_event_time"


@dataclass(frozen=True)
class EventTimeRule:
    """Which event times are believable (the policy's ``event_time`` section).

    ``earliest``: event times before this date (00:00 UTC) are implausible (``None``: no
    floor). ``future_tolerance_days``: event times later than the run's start plus this many
    days are implausible (``None``: no ceiling). ``implausible``: ``null_partition`` (the
    record is written to the table's null event_date partition) or ``quarantine``.
    """

    earliest: date | None = date(2000, 1, 1)
    future_tolerance_days: int | None = 1
    implausible: str = "null_partition"


def add_days(day: date, days: int) -> date:
    """``day + days``, saturating at ``date.min`` / ``date.max`` (never ``OverflowError``):
    an event dated 9999-12-31 with a 28-day retention expires on 9999-12-31."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def _implausible(when: datetime, rule: EventTimeRule, now: datetime) -> str | None:
    if rule.earliest is not None and when < datetime(
            rule.earliest.year, rule.earliest.month, rule.earliest.day, tzinfo=UTC):
        return BEFORE_FLOOR
    if rule.future_tolerance_days is not None:
        try:
            latest = now + timedelta(days=rule.future_tolerance_days)
        except OverflowError:  # no representable time lies beyond it
            return None
        if when > latest:
            return IN_FUTURE
    return None


def route_event_time(value: Any, rule: EventTimeRule, now: datetime,
                     ) -> tuple[str | None, str | None]:
    """``(event date 'YYYY-MM-DD' or None, why the time was not used or None)``.

    No parseable time: ``(None, None)`` (the null partition, as always). A parseable but
    implausible one (:class:`EventTimeRule`; ``now`` is the run's start): ``(None,
    BEFORE_FLOOR | IN_FUTURE)``; the caller routes the record per ``rule.implausible`` and
    counts it. Never raises.
    """
    dt = parse_timestamp(value)
    if dt is None:
        return None, None
    why = _implausible(dt, rule, now)
    if why is not None:
        return None, why
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}", None


def implausible_detail(why: str, rule: EventTimeRule) -> str:
    """A quarantine detail for :func:`route_event_time`'s reason; never quotes the value."""
    if why == BEFORE_FLOOR:
        return f"event time before {rule.earliest} (policy event_time.earliest)"
    return (f"event time more than {rule.future_tolerance_days} day(s) after the run started "
            "(policy event_time.future_tolerance_days)")
#: ISO-8601 in UTC with a ``Z`` and valid field ranges: what nearly every telemetry time
#: stamp looks like, and the one form :func:`event_dates` reads without Python per value
FAST_UTC = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):"
            r"[0-5][0-9]:[0-5][0-9]([.,][0-9]{1,9})?[Zz]$")


def _whole_day(day: str, check: Any) -> bool:
    """Does every time of ``day`` (UTC) pass ``check`` the same way its first and last
    microsecond do (so a value of that day needs no check of its own)?"""
    return check(f"{day}T00:00:00Z") == check(f"{day}T23:59:59.999999Z")


def fast_utc_mask(arr: Any) -> tuple[Any, Any]:
    """(mask of the values in the :data:`FAST_UTC` form whose whole day parses and dates the
    same way, their ``YYYY-MM-DD``): values for which :func:`parse_timestamp` succeeds and
    :func:`event_date` is that day, known without parsing each one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fast = pc.fill_null(pc.match_substring_regex(arr, FAST_UTC), False)
    days = pc.utf8_slice_codeunits(arr, 0, 10)
    candidates = pc.unique(pc.filter(days, fast)).to_pylist()
    ok = [d for d in candidates
          if event_date(f"{d}T00:00:00Z") == d and _whole_day(d, event_date)]
    if len(ok) != len(candidates):
        fast = pc.and_(fast, pc.fill_null(pc.is_in(days, pa.array(ok, pa.string())), False))
    return fast, days


def event_dates(arr: Any) -> Any:
    """:func:`event_date` of every value of an Arrow column (null where there is none)."""
    return route_event_dates(arr, EventTimeRule(None, None), datetime.now(UTC))[0]


def route_event_dates(arr: Any, rule: EventTimeRule, now: datetime) -> tuple[Any, Any]:
    """:func:`route_event_time` of every value of an Arrow column: (event dates, reasons),
    both string columns with nulls. The :data:`FAST_UTC` form is routed a day at a time (a
    day whose first and last microsecond route alike routes all its values alike), every
    other distinct value once in Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    days_out = pa.nulls(n, pa.string())
    why_out = pa.nulls(n, pa.string())
    if pa.types.is_string(arr.type):
        fast = pc.fill_null(pc.match_substring_regex(arr, FAST_UTC), False)
        days = pc.utf8_slice_codeunits(arr, 0, 10)
        routed: dict[str, tuple[str | None, str | None]] = {}
        for d in pc.unique(pc.filter(days, fast)).to_pylist():
            first = route_event_time(f"{d}T00:00:00Z", rule, now)
            if first == route_event_time(f"{d}T23:59:59.999999Z", rule, now):
                routed[d] = first
        if routed:
            fast = pc.and_(fast, pc.fill_null(pc.is_in(days, pa.array(list(routed))), False))
            keys = pa.array(list(routed), pa.string())
            idx = pc.index_in(days, keys)
            day_vals = pa.array([routed[k][0] for k in routed], pa.string())
            why_vals = pa.array([routed[k][1] for k in routed], pa.string())
            days_out = pc.if_else(fast, pc.take(day_vals, idx), days_out)
            why_out = pc.if_else(fast, pc.take(why_vals, idx), why_out)
        else:
            fast = pa.array([False] * n, pa.bool_())
        slow = pc.and_(pc.invert(fast), pc.is_valid(arr))
    else:
        slow = pc.is_valid(arr)
    if not pc.any(slow).as_py():
        return days_out, why_out
    enc = pc.dictionary_encode(pc.filter(arr, slow))
    res = [route_event_time(v, rule, now) for v in enc.dictionary.to_pylist()]
    d_slow = pc.take(pa.array([r[0] for r in res], pa.string()), enc.indices)
    w_slow = pc.take(pa.array([r[1] for r in res], pa.string()), enc.indices)
    return (pc.replace_with_mask(days_out, slow, d_slow),
            pc.replace_with_mask(why_out, slow, w_slow))
