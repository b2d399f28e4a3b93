"""Partner schedules (crontab expressions) and acknowledgment deadlines.

APScheduler 3 reads the day-of-week field of ``CronTrigger.from_crontab`` with 0 = Monday, unlike
cron, where 0 (and 7) = Sunday: ``0 6 * * 1-5`` would run Tuesday to Saturday. Partners write
ordinary crontab lines, so ``crontab_trigger`` translates numeric days into day names first
(``1-5`` → ``mon,tue,wed,thu,fri``), which both agree on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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


def add_business_days(start: datetime, days: int, timezone: str = "UTC") -> datetime:
    """``start`` plus ``days`` weekdays (Monday–Friday) in ``timezone``, same time of day.

    Public holidays are not known here and count as business days. ``start`` must be aware.
    """
    local = start.astimezone(ZoneInfo(timezone))
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local.astimezone(start.tzinfo)
