"""Recording names read back: how an Asterisk dialplan named a call's recording.

Asterisk's stored recordings (ARI ``GET /recordings/stored``) carry a name and
a format and nothing else: no SIP Call-ID, no times.  What ties a recording to
a call is the name the dialplan gave it, e.g.
``MixMonitor(${ASTSPOOLDIR}/recording/rec-${CHANNEL(pjsip,call-id)}.wav,b)``, so the
profile says how names are built (``adapter.recording_name``) and this module
reads them back.  Placeholders:

* ``{call_id}``: the SIP Call-ID, as sent or as ``FILTER()`` would keep it
  (letters, digits and ``-._@``: the example profile filters it so);
* ``{caller}``, ``{did}``: the caller's number and the number dialled, when the
  reader is told them (``identities``: ``expect_recording`` and the doctor do),
  else any text without ``/``;
* ``{header:X-Name}``: the value of a header the platform put on the INVITE the
  agent answered, when told it, else any text without ``/``;
* ``{uniqueid}``: Asterisk's ``${UNIQUEID}`` (``[system-]EPOCH.SEQ``), which
  carries the channel's creation time;
* ``{start}`` or ``{start:FORMAT}``: the time, as ``${EPOCH}`` or as
  ``${STRFTIME(${EPOCH},ZONE,FORMAT)}`` with any strftime FORMAT
  (:mod:`harness.targets.name_time`); ZONE is ``adapter.recording_timezone``.

A text placeholder takes filters, applied left to right
(:mod:`harness.targets.name_filters`): ``{call_id|alnum}`` for
``${FILTER(0-9A-Za-z,${CHANNEL(pjsip,call-id)})}``,
``{call_id|replace:@:_|replace:.:_|lower}``, ``{caller|hex}``.  A filtered
``{call_id}`` is that spelling only; an unfiltered one keeps its two spellings.

Without a template, a name that holds the Call-ID is that call's, and a
``${UNIQUEID}`` or a ``YYYYmmdd-HHMMSS`` time in a name places it in time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from harness.errors import TargetError
from harness.targets import name_time
from harness.targets.name_filters import Filter, apply, parse_filter

PLACEHOLDERS = ("call_id", "caller", "did", "header", "uniqueid", "start")
TEXT_PLACEHOLDERS = ("call_id", "caller", "did", "header")  # the ones filters apply to
SHOWN = "{call_id}, {caller}, {did}, {header:X-NAME}, {uniqueid}, {start} and {start:FORMAT}"
FORMATS = ("wav", "wav16", "WAV", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "mp3")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER = re.compile(r"[A-Za-z0-9][-A-Za-z0-9_.]*")
_UNFILTERED = re.compile(r"[^-0-9A-Za-z._@]")  # what FILTER(-0-9A-Za-z._@,...) drops
_EPOCH = name_time.EPOCH
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


@dataclass(frozen=True)
class Field:
    """A placeholder: its name, its argument (``start``'s format, ``header``'s name), filters."""

    name: str
    arg: str = ""
    filters: tuple[Filter, ...] = ()

    @property
    def key(self) -> str:
        """The identity it is filled from: ``call_id``, ``caller``, ``header:x-name``..."""
        return f"header:{self.arg.lower()}" if self.name == "header" else self.name

    def __str__(self) -> str:
        head = f"{self.name}:{self.arg}" if self.arg and not (self.name == "start" and
                                                             self.arg == "%s") else self.name
        return "{" + "|".join([head, *(str(f) for f in self.filters)]) + "}"


class NameTemplate:
    """``adapter.recording_name``: a name with placeholders (see the module's docstring)."""

    def __init__(self, text: str, zone: tzinfo = UTC) -> None:
        stem, dot, ext = text.rpartition(".")
        self.text = stem if dot and ext in FORMATS else text  # ARI names have no extension
        self.zone = zone
        self.fields = _parse(self.text)
        # (placeholder, format) and (None, literal): the shape the folder readers walk
        self.parts: list[tuple[str | None, str]] = [
            (f.name, f.arg) if isinstance(f, Field) else (None, f) for f in self.fields]
        placed = [f for f in self.fields if isinstance(f, Field)]
        self.carries_call_id = any(f.name == "call_id" for f in placed)
        starts = [f.arg for f in placed if f.name == "start"]
        self.start_format = starts[0] if starts else None
        self.carries_time = any(f.name == "uniqueid" for f in placed) or \
            (self.start_format is not None and name_time.dates(self.start_format))

    def __repr__(self) -> str:
        return f"NameTemplate({self.text!r})"

    def pattern(self, call_id: str | None,
                identities: Mapping[str, str] | None = None) -> re.Pattern[str]:
        """The names this template gives; with ``call_id`` (and ``identities``: ``caller``,
        ``did``, ``header:X-Name``...), only that call's."""
        values = _values(call_id, identities)
        out: list[str] = []
        groups: dict[str, str] = {}
        for part in self.fields:
            if not isinstance(part, Field):
                out.append(re.escape(part))
            elif str(part) in groups:
                out.append(f"(?P={groups[str(part)]})")
            else:
                groups[str(part)] = group = f"g{len(groups)}"
                out.append(f"(?P<{group}>{_group(part, values.get(part.key))})")
        return re.compile("".join(out))

    def read(self, name: str, call_id: str | None = None,
             identities: Mapping[str, str] | None = None) -> Reading | None:
        """What ``name`` says, or None when the template does not give it (for this call).

        A template without ``/`` reads the last part of a name in folders
        (``2026/11/rec-X`` is read as ``rec-X``).
        """
        values = _values(call_id, identities)
        call_id = values.get("call_id")
        found = self.pattern(call_id, values).fullmatch(
            name if "/" in self.text else name.rsplit("/")[-1])
        if found is None:
            return None
        texts = self._texts(found)
        started, resolution = self._time(texts)
        if started is None and self.carries_time:
            return None  # a time the template promises but the name breaks (month 13)
        named = next((t for f, t in texts if f.name == "call_id"), None)
        carried = call_id if call_id is not None and named is not None else named
        return Reading(carried, call_id is not None and named is not None, started, resolution)

    def _texts(self, found: re.Match[str]) -> list[tuple[Field, str]]:
        """Each placeholder with the text the name holds for it."""
        groups: dict[str, str] = {}
        for part in self.fields:
            if isinstance(part, Field) and str(part) not in groups:
                groups[str(part)] = f"g{len(groups)}"
        return [(f, found.group(groups[str(f)])) for f in self.fields if isinstance(f, Field)]

    def _time(self, texts: list[tuple[Field, str]]) -> tuple[datetime | None, float]:
        start = next((t for f, t in texts if f.name == "start"), None)
        if start is not None and self.start_format is not None:
            if self.start_format == "%s":
                return _from_epoch(start), 1.0
            return name_time.parse(start, self.start_format, self.zone)
        unique = next((t for f, t in texts if f.name == "uniqueid"), None)
        if unique is not None:
            epoch = re.search(rf"({_EPOCH})\.\d+$", unique)
            return (_from_epoch(epoch.group(1)) if epoch else None), 1.0
        return None, 1.0


def _values(call_id: str | None, identities: Mapping[str, str] | None) -> dict[str, str]:
    """The known identities by placeholder key (header names in lower case)."""
    values = {(k.lower() if k.lower().startswith("header:") else k): v
              for k, v in (identities or {}).items()}
    if call_id is not None:
        values["call_id"] = call_id
    return values


class AnyName:
    """No template: a name holding the Call-ID is the call's; a uniqueid or stamp dates it."""

    carries_call_id = False
    text = None

    def __init__(self, zone: tzinfo = UTC) -> None:
        self.zone = zone

    def __repr__(self) -> str:
        return "AnyName()"

    def read(self, name: str, call_id: str | None = None,
             identities: Mapping[str, str] | None = None) -> Reading:
        call_id = _values(call_id, identities).get("call_id")
        matched = call_id is not None and any(v and v in name for v in _spellings(call_id))
        return Reading(call_id if matched else None, matched, self._time(name))

    def _time(self, name: str) -> datetime | None:
        unique = _UNIQUEID.search(name)
        if unique:
            return _from_epoch(unique.group(1))
        stamp = _STAMP.search(name)
        if stamp:
            return name_time.parse(stamp.group(1) + stamp.group(2), "%Y%m%d%H%M%S", self.zone)[0]
        return None


Names = NameTemplate | AnyName


def _parse(text: str) -> list[Field | str]:
    """The template as placeholders and literals; ValueError if bad."""
    parts: list[Field | str] = []
    at = 0
    for found in _PLACEHOLDER.finditer(text):
        parts.append(_literal(text[at:found.start()]))
        parts.append(_field(found.group(1)))
        at = found.end()
    parts.append(_literal(text[at:]))
    if not any(isinstance(p, Field) for p in parts):
        raise ValueError("it has no placeholder, so it names one recording for every call")
    return [p for p in parts if p]


def _field(inside: str) -> Field:
    """``call_id|alnum``, ``start:%Y%m%d``, ``header:X-Queue|lower`` as a ``Field``."""
    head, *filters = inside.split("|")
    name, colon, arg = head.partition(":")
    if name not in PLACEHOLDERS:
        near = [p for p in PLACEHOLDERS if p.replace("_", "") == name.replace("_", "").lower()]
        hint = f"; did you mean {{{near[0]}}}?" if near else ""
        raise ValueError(f"a recording name uses the placeholders {SHOWN}: {{{inside}}} is not a "
                         f"placeholder{hint}")
    if filters and name not in TEXT_PLACEHOLDERS:
        raise ValueError(f"{{{inside}}}: filters apply to {{call_id}}, {{caller}}, {{did}} and "
                         f"{{header:X-NAME}}, not to {{{name}}}")
    if name == "start":
        return Field(name, name_time.check_format(arg) if colon and arg != "%s" else "%s")
    if name == "header" and not _HEADER.fullmatch(arg):
        raise ValueError(f"{{{inside}}}: write {{header:X-NAME}} with the header's name, "
                         f"e.g. {{header:X-Queue}}")
    if name != "header" and colon:
        raise ValueError(f"only {{start}} takes a format and {{header}} a name, not {{{inside}}}")
    try:
        return Field(name, arg, tuple(parse_filter(f) for f in filters))
    except ValueError as bad:
        raise ValueError(f"{{{inside}}}: {bad}") from None


def _literal(text: str) -> str:
    if "{" in text or "}" in text:
        raise ValueError(f"a lone brace in {text!r}: placeholders are written {{name}}")
    return text


def _group(part: Field, value: str | None) -> str:
    if part.name == "start":
        return _EPOCH if part.arg == "%s" else name_time.pattern(part.arg)
    if part.name == "uniqueid":
        return re.escape(value) if value is not None else rf"(?:[^/]+-)?{_EPOCH}\.\d+"
    if value is None:
        return r"[^/]+?" if part.name == "call_id" else r"[^/]*?"
    if part.name == "call_id" and not part.filters:
        return "|".join(re.escape(v) for v in _spellings(value) if v)
    return re.escape(apply(part.filters, value))


def _spellings(call_id: str) -> list[str]:
    """The Call-ID as sent, and as the example dialplan's FILTER() keeps it."""
    kept = _UNFILTERED.sub("", call_id)
    return [call_id] if kept == call_id else [call_id, kept]


def _from_epoch(text: str) -> datetime:
    return datetime.fromtimestamp(int(text), UTC)


def names_from_profile(spec: Any, where: str) -> Names:
    """The adapter section's ``recording_name`` (and ``recording_timezone``) as a name reader."""
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


def template_problem(text: str) -> str | None:
    """Why ``text`` is not a recording name template (None: it is one), for a profile's checks."""
    try:
        NameTemplate(text)
    except ValueError as bad:
        return str(bad)
    return None
