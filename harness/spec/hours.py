"""Forbidden calling hours (禁呼时段) as the undertaking writes them: the rules, read from a profile.

The applicant's anti-harassment undertaking (《防骚扰承诺书》) states the hours
its platform will not call customers in. A profile writes them the same way:
daily windows such as ``21:00-09:00`` (a window may run past midnight; it holds
from its start up to, not including, its end), weekdays and holidays with no
calls at all, in the called party's time zone, and the clause to cite -- or
names one of ``RULE_SETS``, optional national rules (never a default).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)\s*$")
SCAN_STEP = timedelta(minutes=1)
SCAN_SPAN = timedelta(days=400)  # a year of holidays ahead, at most


class BadRule(ValueError):
    """A rule the undertaking's words cannot be read as."""


@dataclass(frozen=True)
class Window:
    """A daily forbidden window, ``start`` up to (not including) ``end``; wraps past midnight."""

    start: time
    end: time  # time(0, 0) with start 21:00 means "until midnight"

    @classmethod
    def parse(cls, text: str) -> Window:
        found = _WINDOW.match(text)
        if not found:
            raise BadRule(f"'{text}' is not a daily window like '21:00-09:00'")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h2 == 24 and m2 != 0:
            raise BadRule(f"'{text}': 24:{m2:02d} is not a time")
        start, end = time(h1, m1), time(h2 % 24, m2)
        if start == end:
            raise BadRule(f"'{text}' is empty: it starts where it ends")
        return cls(start, end)

    def holds(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # past midnight (an end of 00:00 is midnight)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class CallingRules:
    """The undertaking's forbidden hours, in the called party's time zone."""

    windows: tuple[Window, ...]
    tz: ZoneInfo
    days: frozenset[int] = frozenset()  # weekdays with no calls at all, 0 = Monday
    holidays: frozenset[date] = frozenset()
    clause: str = ""  # the undertaking's words (or the rule set's), cited in the report

    def forbidden(self, when: datetime) -> str | None:
        """Why a call at ``when`` (any time zone) is forbidden, or None when it may be placed."""
        local = when.astimezone(self.tz)
        if local.date() in self.holidays:
            return f"{local:%Y-%m-%d} is a holiday"
        if local.weekday() in self.days:
            return f"no calls on {WEEKDAYS[local.weekday()]}"
        for window in self.windows:
            if window.holds(local.time()):
                return f"inside the daily window {window}"
        return None

    def describe(self) -> str:
        parts = [f"daily {', '.join(str(w) for w in self.windows)}"] if self.windows else []
        if self.days:
            parts.append("all day on " + ", ".join(WEEKDAYS[d] for d in sorted(self.days)))
        if self.holidays:
            parts.append(f"{len(self.holidays)} holidays")
        return f"{'; '.join(parts) or 'no forbidden hours'} ({self.tz.key})"


def read_rules(windows: Sequence[str], tz: str, days: Sequence[str] = (), holidays: Sequence[str] = (),
               clause: str = "") -> CallingRules:
    """The rules from the profile's words; BadRule names the first word it cannot read."""
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise BadRule(f"'{tz}' is not a time zone (an IANA name such as Asia/Shanghai)") from exc
    parsed_days = set()
    for d in days:
        if str(d).lower()[:3] not in WEEKDAYS:
            raise BadRule(f"'{d}' is not a weekday (mon, tue, ... sun)")
        parsed_days.add(WEEKDAYS.index(str(d).lower()[:3]))
    dates = set()
    for h in holidays:
        try:
            dates.add(date.fromisoformat(str(h)))
        except ValueError as exc:
            raise BadRule(f"'{h}' is not a date like 2026-10-01") from exc
    return CallingRules(tuple(Window.parse(w) for w in windows), zone, frozenset(parsed_days),
                        frozenset(dates), clause)


RULE_SETS: dict[str, tuple[tuple[str, ...], str, str]] = {
    # name -> (daily windows, default time zone, the rule's words)
    "cn-telesales-2013": (("21:00-09:00",), "Asia/Shanghai",
                          "《人身保险电话销售业务管理办法》(2013): no telesales calls from 21:00 to 09:00"),
    "us-47cfr64.1200": (("21:00-08:00",), "America/New_York",
                        "47 CFR 64.1200(c)(1): no calls before 8 a.m. or after 9 p.m. at the called party's "
                        "location (give the called party's tz)"),
}


MARGIN = timedelta(minutes=5)  # a moment chosen this far inside its side: calls take seconds


def moment(rules: CallingRules, start: datetime, forbidden: bool, margin: timedelta = MARGIN) -> datetime | None:
    """The first moment from ``start`` (to the minute) on the given side of the rules that stays on it
    ``margin`` before and after, so a call placed then is judged by that side; None within a year."""
    t = start.astimezone(rules.tz).replace(second=0, microsecond=0)
    end = start + SCAN_SPAN
    while t < end:
        if all((rules.forbidden(t + k * margin) is not None) == forbidden for k in (-1, 0, 1)):
            return t
        t += SCAN_STEP
    return None
