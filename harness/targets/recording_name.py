"""Recording names read back: how an Asterisk dialplan named a call's recording.

Asterisk's stored recordings (ARI ``GET /recordings/stored``) carry a name and
a format and nothing else: no SIP Call-ID, no times.  What ties a recording to
a call is the name the dialplan gave it, e.g.
``MixMonitor(${ASTSPOOLDIR}/recording/rec-${CHANNEL(pjsip,call-id)}.wav,b)``, so the
profile says how names are built (``adapter.recording_name``) and this module
reads them back.  Placeholders:

* ``{call_id}``: the SIP Call-ID, as sent or as ``FILTER()`` would keep it
  (letters, digits and ``-._@``: the example profile filters it so);
* ``{caller}``, ``{did}``: any text without ``/`` (the adapter is not told them);
* ``{uniqueid}``: Asterisk's ``${UNIQUEID}`` (``[system-]EPOCH.SEQ``), which
  carries the channel's creation time;
* ``{start}`` or ``{start:FORMAT}``: the time, as ``${EPOCH}`` or as
  ``${STRFTIME(${EPOCH},ZONE,FORMAT)}`` with ``%Y %m %d %H %M %S %y %j`` (or ``%s``
  alone); ZONE is ``adapter.recording_timezone``.

Without a template, a name that holds the Call-ID is that call's, and a
``${UNIQUEID}`` or a ``YYYYmmdd-HHMMSS`` time in a name places it in time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harness.errors import TargetError

PLACEHOLDERS = ("call_id", "caller", "did", "uniqueid", "start")
FORMATS = ("wav", "wav16", "WAV", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "mp3")
_PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_DIRECTIVES = {  # strftime directive: (pattern, resolution in seconds)
    "Y": (r"\d{4}", 366 * 86400), "y": (r"\d{2}", 366 * 86400), "m": (r"\d{2}", 31 * 86400),
    "d": (r"\d{2}", 86400), "j": (r"\d{3}", 86400), "H": (r"\d{2}", 3600), "M": (r"\d{2}", 60),
    "S": (r"\d{2}", 1), "%": ("%", 366 * 86400),
}
_UNFILTERED = re.compile(r"[^-0-9A-Za-z._@]")  # what FILTER(-0-9A-Za-z._@,...) drops
_EPOCH = r"[1-4]\d{9}"  # seconds since 1970, 2001 to 2096: ten digits
_UNIQUEID = re.compile(rf"(?:^|[^0-9])({_EPOCH})\.\d+(?:$|[^0-9])")
_STAMP = re.compile(r"(?:^|[^0-9])(\d{8})[-_T]?(\d{6})(?:$|[^0-9])")


@dataclass(frozen=True)
class Reading:
    """What a recording's name says about it."""

    call_id: str | None  # the Call-ID the name carries (None: it does not say)
    matched: bool  # the name holds the Call-ID asked about
    started_utc: datetime | None  # the time in the name, if any
    resolution_s: float = 1.0  # how finely that time is written (a date alone: a day)

    def in_window(self, since: datetime, until: datetime) -> bool:
        """Could the recording have started within [since, until)?  Untimed names could."""
        if self.started_utc is None:
            return True
        return since < self.started_utc + timedelta(seconds=self.resolution_s) and \
            self.started_utc < until


class NameTemplate:
    """``adapter.recording_name``: a name with placeholders (see the module's docstring)."""

    def __init__(self, text: str, zone: tzinfo = UTC) -> None:
        stem, dot, ext = text.rpartition(".")
        self.text = stem if dot and ext in FORMATS else text  # ARI names have no extension
        self.zone = zone
        self.parts = _parse(self.text)
        self.carries_call_id = any(name == "call_id" for name, _ in self.parts if name)
        starts = [fmt for name, fmt in self.parts if name == "start"]
        self.start_format = starts[0] if starts else None
        self.carries_time = bool(starts) or any(name == "uniqueid" for name, _ in self.parts)

    def __repr__(self) -> str:
        return f"NameTemplate({self.text!r})"

    def pattern(self, call_id: str | None) -> re.Pattern[str]:
        """The names this template gives; with ``call_id``, only that call's."""
        out, seen = [], set()
        for name, value in self.parts:
            if name is None:
                out.append(re.escape(value))
            elif name in seen:
                out.append(f"(?P={name})")
            else:
                seen.add(name)
                out.append(f"(?P<{name}>{_group(name, value, call_id)})")
        return re.compile("".join(out))

    def read(self, name: str, call_id: str | None = None) -> Reading | None:
        """What ``name`` says, or None when the template does not give it (for this call).

        A template without ``/`` reads the last part of a name in folders
        (``2026/11/rec-X`` is read as ``rec-X``).
        """
        found = self.pattern(call_id).fullmatch(name if "/" in self.text else name.rsplit("/")[-1])
        if found is None:
            return None
        groups = found.groupdict()
        started, resolution = self._time(groups)
        if started is None and self.carries_time:
            return None  # a time the template promises but the name breaks (month 13)
        named = groups.get("call_id")
        carried = call_id if call_id is not None and named is not None else named
        return Reading(carried, call_id is not None and named is not None, started, resolution)

    def _time(self, groups: dict[str, str | None]) -> tuple[datetime | None, float]:
        text = groups.get("start")
        if text is not None and self.start_format is not None:
            return _strptime(text, self.start_format, self.zone), _resolution(self.start_format)
        unique = groups.get("uniqueid")
        if unique is not None:
            epoch = re.search(rf"({_EPOCH})\.\d+$", unique)
            return (_from_epoch(epoch.group(1)) if epoch else None), 1.0
        return None, 1.0


class AnyName:
    """No template: a name holding the Call-ID is the call's; a uniqueid or stamp dates it."""

    carries_call_id = False
    text = None

    def __init__(self, zone: tzinfo = UTC) -> None:
        self.zone = zone

    def __repr__(self) -> str:
        return "AnyName()"

    def read(self, name: str, call_id: str | None = None) -> Reading:
        matched = call_id is not None and any(v and v in name for v in _spellings(call_id))
        return Reading(call_id if matched else None, matched, self._time(name))

    def _time(self, name: str) -> datetime | None:
        unique = _UNIQUEID.search(name)
        if unique:
            return _from_epoch(unique.group(1))
        stamp = _STAMP.search(name)
        if stamp:
            return _strptime(stamp.group(1) + stamp.group(2), "%Y%m%d%H%M%S", self.zone)
        return None


Names = NameTemplate | AnyName


def _parse(text: str) -> list[tuple[str | None, str]]:
    """The template as (placeholder, format) and (None, literal) parts; ValueError if bad."""
    parts: list[tuple[str | None, str]] = []
    at = 0
    for found in _PLACEHOLDER.finditer(text):
        parts.append((None, _literal(text[at:found.start()])))
        name, fmt = found.group(1), found.group(2)
        if name not in PLACEHOLDERS:
            raise ValueError(f"{{{name}}} is not a placeholder (known: "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
        if fmt is not None and name != "start":
            raise ValueError(f"only {{start}} takes a format, not {{{name}:{fmt}}}")
        parts.append((name, _check_format(fmt) if name == "start" else ""))
        at = found.end()
    parts.append((None, _literal(text[at:])))
    if not any(name for name, _ in parts):
        raise ValueError("it has no placeholder, so it names one recording for every call")
    return [(n, v) for n, v in parts if n or v]


def _literal(text: str) -> str:
    if "{" in text or "}" in text:
        raise ValueError(f"a lone brace in {text!r}: placeholders are written {{name}}")
    return text


def _check_format(fmt: str | None) -> str:
    if fmt is None or fmt == "%s":
        return "%s"
    for directive in re.findall(r"%(.?)", fmt):
        if directive not in _DIRECTIVES:
            raise ValueError(f"{{start:{fmt}}}: %{directive} is not supported (use %Y %m %d %H "
                             f"%M %S %y %j, or %s alone for ${{EPOCH}})")
    if not re.search(r"%[YyjmdHMS]", fmt):
        raise ValueError(f"{{start:{fmt}}} writes no time")
    return fmt


def _group(name: str, fmt: str, call_id: str | None) -> str:
    if name == "call_id":
        if call_id is None:
            return r"[^/]+?"
        return "|".join(re.escape(v) for v in _spellings(call_id) if v)
    if name in ("caller", "did"):
        return r"[^/]*?"
    if name == "uniqueid":
        return rf"(?:[^/]+-)?{_EPOCH}\.\d+"
    if fmt == "%s":
        return _EPOCH
    return re.sub(r"%(.)", lambda d: _DIRECTIVES[d.group(1)][0],
                  re.sub(r"[^%]+", lambda lit: re.escape(lit.group(0)), fmt))


def _spellings(call_id: str) -> list[str]:
    """The Call-ID as sent, and as the example dialplan's FILTER() keeps it."""
    kept = _UNFILTERED.sub("", call_id)
    return [call_id] if kept == call_id else [call_id, kept]


def _resolution(fmt: str) -> float:
    if fmt == "%s":
        return 1.0
    return float(min(_DIRECTIVES[d][1] for d in re.findall(r"%(.)", fmt)))


def _strptime(text: str, fmt: str, zone: tzinfo) -> datetime | None:
    if fmt == "%s":
        return _from_epoch(text)
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


def _from_epoch(text: str) -> datetime:
    return datetime.fromtimestamp(int(text), UTC)


def names_from_profile(spec: Any, where: str) -> Names:
    """The adapter section's ``recording_name`` (and ``recording_timezone``) as a reader of names."""
    zone_name = spec.get("recording_timezone", "UTC")
    try:
        zone = ZoneInfo(str(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TargetError(f"{where}: adapter.recording_timezone {zone_name!r} is not a time zone "
                          f"(e.g. UTC or Asia/Shanghai)") from None
    template = spec.get("recording_name")
    if template is None:
        return AnyName(zone)
    try:
        return NameTemplate(str(template), zone)
    except ValueError as bad:
        raise TargetError(f"{where}: adapter.recording_name {template!r}: {bad}") from None
