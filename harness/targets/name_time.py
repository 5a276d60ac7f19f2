"""The time in a recording's name: ``{start:FORMAT}``, any strftime format a dialplan's
``${STRFTIME(${EPOCH},ZONE,FORMAT)}`` may use.

A name is read back field by field: the year, then the month and day (or the day of the
year), the hour, the minute, the second, each only after the one before it.  The time is
as fine as the last field of that chain, and no finer: ``%Y%m%d-%H`` is an hour, and
``%Y-%H`` is a year, since the hour of an unknown day places nothing.  A directive that
says nothing about the moment (``%a``, ``%U``, an unknown one) is matched and ignored;
``%s`` (``${EPOCH}``) is the moment to the second; without a year there is no time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

EPOCH = r"[1-4]\d{9}"  # seconds since 1970, 2001 to 2096: ten digits
_DAY = 86400.0
_COMPOSITE = {"T": "%H:%M:%S", "D": "%m/%d/%y", "F": "%Y-%m-%d", "R": "%H:%M", "r": "%I:%M:%S %p",
              "c": "%a %b %e %H:%M:%S %Y", "x": "%m/%d/%y", "X": "%H:%M:%S", "h": "%b"}
_DIRECTIVES = {  # directive: (pattern, the field it gives, or None when it places nothing)
    "Y": (r"\d{4}", "year"), "y": (r"\d{2}", "year2"), "G": (r"\d{4}", None), "g": (r"\d{2}", None),
    "C": (r"\d{2}", None), "m": (r"\d{2}", "month"), "b": (r"[A-Za-z]{3}", "month_name"),
    "B": (r"[A-Za-z]+", "month_name"), "d": (r"\d{2}", "day"), "e": (r"[ \d]\d", "day"),
    "j": (r"\d{3}", "yday"), "H": (r"\d{2}", "hour"), "k": (r"[ \d]\d", "hour"),
    "I": (r"\d{2}", "hour12"), "l": (r"[ \d]\d", "hour12"), "p": (r"[AaPp][Mm]", "ampm"),
    "P": (r"[AaPp][Mm]", "ampm"), "M": (r"\d{2}", "minute"), "S": (r"\d{2}", "second"),
    "s": (EPOCH, "epoch"), "z": (r"[+-]\d{4}", "offset"), "Z": (r"[A-Za-z]*", None),
    "a": (r"[A-Za-z]{3}", None), "A": (r"[A-Za-z]+", None), "u": (r"[1-7]", None),
    "w": (r"[0-6]", None), "U": (r"\d{2}", None), "W": (r"\d{2}", None), "V": (r"\d{2}", None),
}
_UNKNOWN = r"[^/]+?"
_DIRECTIVE = re.compile(r"%([-_0^#]?)([EO]?)(.?)", re.DOTALL)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def check_format(fmt: str) -> str:
    """``fmt`` when it writes a time (some directive); ValueError otherwise."""
    tokens = _tokens(fmt)
    if any(kind == "%" and not text for kind, text in tokens):
        raise ValueError(f"{{start:{fmt}}} ends in a lone % (write %% for a percent sign)")
    if not any(kind == "%" and text != "%" for kind, text in tokens):
        raise ValueError(f"{{start:{fmt}}} writes no time (e.g. {{start:%Y%m%d-%H%M%S}})")
    return fmt


def dates(fmt: str) -> bool:
    """Does ``fmt`` place a name in time (a year, or ``%s``)?"""
    fields = {_DIRECTIVES.get(text, ("", None))[1] for kind, text in _tokens(fmt) if kind == "%"}
    return bool(fields & {"year", "year2", "epoch"})


def pattern(fmt: str, groups: bool = False) -> str:
    """The regular expression of the text ``fmt`` writes; with ``groups``, a group per directive."""
    out = []
    for i, (kind, text) in enumerate(_tokens(fmt)):
        if kind != "%":
            out.append(re.escape(text))
            continue
        part = _DIRECTIVES.get(text, (re.escape(text) if text in "%nt" else _UNKNOWN, None))[0]
        if text in "nt":
            part = "\n" if text == "n" else "\t"
        out.append(f"(?P<d{i}>{part})" if groups else f"(?:{part})")
    return "".join(out)


def parse(text: str, fmt: str, zone: tzinfo) -> tuple[datetime | None, float]:
    """The moment ``text`` (written by ``fmt`` in ``zone``) gives, in UTC, and its resolution
    in seconds; (None, 1.0) when it gives none or an impossible one (month 13)."""
    found = re.fullmatch(pattern(fmt, groups=True), text)
    if found is None:
        return None, 1.0
    tokens = _tokens(fmt)
    fields: dict[str, str] = {}
    for key, value in found.groupdict().items():
        field = _DIRECTIVES.get(tokens[int(key[1:])][1], ("", None))[1]
        if field is not None:
            fields.setdefault(field, value.strip())
    try:
        return _moment(fields, zone)
    except (ValueError, OverflowError):
        return None, 1.0


def _tokens(fmt: str) -> list[tuple[str, str]]:
    """``fmt`` as ("lit", text) and ("%", directive) tokens, composites expanded, flags dropped."""
    tokens: list[tuple[str, str]] = []
    at = 0
    for found in _DIRECTIVE.finditer(fmt):
        if found.start() > at:
            tokens.append(("lit", fmt[at:found.start()]))
        directive = found.group(3)
        if directive in _COMPOSITE:
            tokens.extend(_tokens(_COMPOSITE[directive]))
        else:
            tokens.append(("%", directive))
        at = found.end()
    if at < len(fmt):
        tokens.append(("lit", fmt[at:]))
    return tokens


def _moment(fields: dict[str, str], zone: tzinfo) -> tuple[datetime | None, float]:
    if "epoch" in fields:
        return datetime.fromtimestamp(int(fields["epoch"]), UTC), 1.0
    year = _year(fields)
    if year is None:
        return None, 1.0
    if "offset" in fields:
        sign = -1 if fields["offset"][0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(fields["offset"][1:3]),
                                         minutes=int(fields["offset"][3:5])))
    day, resolution = _day(fields, year)
    moment = datetime(year, day[0], day[1], tzinfo=zone) + timedelta(days=day[2])
    if resolution == _DAY:
        for field, seconds in (("hour", 3600.0), ("minute", 60.0), ("second", 1.0)):
            value = _hour(fields) if field == "hour" else fields.get(field)
            if value is None:
                break
            number = int(value)
            limit = 24 if field == "hour" else 62  # a leap second is written as 60
            if not 0 <= number < limit:
                raise ValueError(f"{field} {number}")
            moment += timedelta(seconds=number * seconds)
            resolution = seconds
    return moment.astimezone(UTC), resolution


def _year(fields: dict[str, str]) -> int | None:
    if "year" in fields:
        return int(fields["year"])
    if "year2" in fields:  # as strptime's %y: 69-99 are 1969-1999
        short = int(fields["year2"])
        return short + (1900 if short >= 69 else 2000)
    return None


def _day(fields: dict[str, str], year: int) -> tuple[tuple[int, int, int], float]:
    """(month, day, days to add) and the resolution so far."""
    month = _month(fields)
    if month is not None and "day" in fields:
        datetime(year, month, int(fields["day"]))  # ValueError when there is no such day
        return (month, int(fields["day"]), 0), _DAY
    if "yday" in fields and 1 <= int(fields["yday"]) <= 366:
        return (1, 1, int(fields["yday"]) - 1), _DAY
    if month is not None:
        return (month, 1, 0), 31 * _DAY
    return (1, 1, 0), 366 * _DAY


def _month(fields: dict[str, str]) -> int | None:
    if "month" in fields:
        return int(fields["month"])
    name = fields.get("month_name", "")[:3].lower()
    if name:
        return _MONTHS.index(name) + 1 if name in _MONTHS else 13  # 13: no such month
    return None


def _hour(fields: dict[str, str]) -> str | None:
    if "hour" in fields:
        return fields["hour"]
    if "hour12" in fields and "ampm" in fields:
        hour = int(fields["hour12"]) % 12 + (12 if fields["ampm"].lower() == "pm" else 0)
        return str(hour if 1 <= int(fields["hour12"]) <= 12 else 99)
    return None  # %I without %p: which half of the day is not said
