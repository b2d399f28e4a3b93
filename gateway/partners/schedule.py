"""Partner schedules (crontab expressions), acknowledgment deadlines and the business-day calendar.

APScheduler 3 reads the day-of-week field of ``CronTrigger.from_crontab`` with 0 = Monday, unlike
cron, where 0 (and 7) = Sunday: ``0 6 * * 1-5`` would run Tuesday to Saturday. Partners write
ordinary crontab lines, so ``crontab_trigger`` translates numeric days into day names first
(``1-5`` → ``mon,tue,wed,thu,fri``), which both agree on.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # cron numbering, 7 = Sunday too


def _day_of_week(field: str) -> str:
    """The cron day-of-week field with numbers replaced by names (see the module docstring)."""
    items: list[str] = []
    for item in field.split(","):
        base, _, step = item.partition("/")
        if any(c.isalpha() for c in base) or (base == "*" and not step):
            items.append(item)  # names and "*" mean the same to both
            continue
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            low_text, _, high_text = base.partition("-")
            low, high = int(low_text), int(high_text)
        elif not step:
            low = high = int(base)
        else:
            raise ValueError(f"day of week {item!r}: a step needs '*' or a range")
        every = int(step) if step else 1
        if not 0 <= low <= high <= 7 or every < 1:
            raise ValueError(f"day of week {item!r} is out of range 0-7")
        items.extend(_DAY_NAMES[day] for day in range(low, high + 1, every))
    return ",".join(dict.fromkeys(items))


def crontab_trigger(expr: str, timezone: str = "UTC") -> CronTrigger:
    """An APScheduler trigger for a standard five-field crontab line in ``timezone``, or a six-field
    one with seconds first (``*/5 * * * * *``, as Quartz and Spring write it) for sub-minute
    schedules (tests, demos, near-real-time drops).

    Raises ``ValueError`` (bad expression) or ``zoneinfo.ZoneInfoNotFoundError`` (bad zone).
    """
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"a crontab line has 5 fields (minute hour day month weekday), or 6 with seconds first; got {len(fields)}"
        )
    second = fields[0] if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields[-5:]
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_day_of_week(weekday),
        timezone=ZoneInfo(timezone),
    )


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (0 = Monday) of the month; ``n = -1`` the last."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A holiday on a Saturday is observed the Friday before, on a Sunday the Monday after
    (5 U.S.C. 6103(b) and Executive Order 11582)."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def federal_holidays(year: int) -> frozenset[date]:
    """The days federal offices are closed in ``year`` (5 U.S.C. 6103(a)), as observed.

    Fixed-date holidays move off weekends (``_observed``), so New Year's Day of the next year can fall
    on December 31 of this one (2021, 2027). Juneteenth counts from 2021, when it became a holiday."""

    def fixed(y: int) -> list[date]:
        days = [date(y, 1, 1), date(y, 7, 4), date(y, 11, 11), date(y, 12, 25)]
        if y >= 2021:
            days.append(date(y, 6, 19))
        return [_observed(d) for d in days]

    floating = [
        _nth_weekday(year, 1, 0, 3),  # Birthday of Martin Luther King, Jr.
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving Day
    ]
    return frozenset(d for d in (*fixed(year - 1), *fixed(year), *fixed(year + 1), *floating) if d.year == year)


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    """Monday to Friday, not a federal holiday and not one of ``holidays`` (the agency's own closures)."""
    return day.weekday() < 5 and day not in federal_holidays(day.year) and day not in holidays


def add_business_days(start: datetime, days: int, timezone: str = "UTC", holidays: Collection[date] = ()) -> datetime:
    """``start`` plus ``days`` business days (``is_business_day``) in ``timezone``, same time of day.

    Federal holidays never count; ``holidays`` adds the days a state observes beyond them. ``start``
    must be aware.
    """
    local = start.astimezone(ZoneInfo(timezone))
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if is_business_day(local.date(), holidays):
            remaining -= 1
    return local.astimezone(start.tzinfo)
