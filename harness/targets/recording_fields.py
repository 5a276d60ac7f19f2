"""How a platform's own JSON describes a recording: dotted paths to the facts the checks need.

A recording API answers in its own shape -- ``{"result": {"records": [{"recId":
..., "sip": {"callId": ...}, "timing": {"startEpoch": ...}}]}}`` -- so the
profile maps each fact to a dotted path (``adapter.recordings.fields``), and
this module reads answers with that map.  A path's parts are keys, or
indices into lists (``media.0.href``); an empty path is the whole answer.

Times are read as written: a number (or a string of digits) is seconds since
1970 -- milliseconds with ``times: epoch_ms`` --, other text ISO 8601
(``2026-11-28T09:12:00+08:00``; without an offset, in ``timezone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from harness.targets.adapter import RecordingInfo

TimeUnit = Literal["iso", "epoch", "epoch_ms"]
FIELDS = ("name", "call_id", "started", "ended", "duration", "size", "sha256", "download_url",
          "format", "created")
"""What ``adapter.recordings.fields`` may map; ``name`` is required."""

_MISSING = object()
_DIGITS = re.compile(r"^\d+(\.\d+)?$")
_AUDIO = re.compile(r"\.(wav|wav49|gsm|mp3|ogg|opus|oga)$", re.IGNORECASE)


class AnswerError(ValueError):
    """An answer that does not hold what the map says; the adapter adds the URL."""


def pick(body: Any, path: str, default: Any = _MISSING) -> Any:
    """The value at the dotted ``path`` of ``body``; ``default`` (if given) when it is absent."""
    here = body
    for part in [p for p in path.split(".") if p] if path else []:
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and part.isdigit() and int(part) < len(here):
            here = here[int(part)]
        elif default is not _MISSING:
            return default
        else:
            raise AnswerError(f"has no {path!r} ({_shape(here, part)})")
    return here


def _shape(here: Any, part: str) -> str:
    if isinstance(here, dict):
        keys = ", ".join(repr(k) for k in list(here)[:12]) or "none"
        return f"no key {part!r} there; its keys: {keys}"
    if isinstance(here, list):
        return f"{part!r} is not an index of a list of {len(here)}"
    return f"{part!r} is under a {type(here).__name__}, not a mapping"


def read_time(value: Any, unit: TimeUnit, zone: tzinfo) -> datetime | None:
    """A time in an answer as UTC; None for null or empty.  AnswerError if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DIGITS.match(value):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if unit == "epoch_ms" else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise AnswerError(f"{value!r} is neither ISO 8601 nor seconds since 1970") from None
        return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)
    raise AnswerError(f"{value!r} is not a time")


def write_time(moment: datetime, unit: TimeUnit, zone: tzinfo) -> str:
    """A time for a ``{since}``/``{until}`` placeholder (ISO in ``zone``, or epoch)."""
    if unit == "epoch":
        return str(int(moment.timestamp()))
    if unit == "epoch_ms":
        return str(int(moment.timestamp() * 1000))
    local = moment.astimezone(zone)
    return local.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class FieldMap:
    """``adapter.recordings.fields``: where each fact sits in one recording's JSON."""

    paths: dict[str, str]  # fact -> dotted path; ``name`` always present
    unit: TimeUnit = "iso"
    zone: tzinfo = UTC
    default_format: str = "wav"

    def info(self, item: Any) -> RecordingInfo:
        """One item of an answer as a ``RecordingInfo``.  AnswerError when it does not fit."""
        if not isinstance(item, dict):
            raise AnswerError(f"holds {type(item).__name__} {str(item)[:60]!r} where a recording "
                              f"(a mapping) was expected")
        name = self._get(item, "name")
        if name is None or name == "":
            raise AnswerError(f"has a recording without its name (fields.name: "
                              f"{self.paths['name']!r}; its keys: {', '.join(map(repr, item))})")
        started, ended = self._time(item, "started"), self._time(item, "ended")
        duration = self._number(item, "duration")
        if duration is None and started is not None and ended is not None:
            duration = (ended - started).total_seconds()
        size, call_id = self._number(item, "size"), self._get(item, "call_id")
        return RecordingInfo(
            name=str(name), call_id=str(call_id) if call_id not in (None, "") else None,
            started_utc=started, duration_s=duration, sha256=self._text(item, "sha256"),
            size=int(size) if size is not None else None, format=self._format(item),
            created_utc=self._time(item, "created"))

    def download_url(self, item: Any) -> str | None:
        return self._text(item, "download_url") if isinstance(item, dict) else None

    def _get(self, item: dict[str, Any], fact: str) -> Any:
        path = self.paths.get(fact)
        return None if path is None else pick(item, path, None)

    def _text(self, item: dict[str, Any], fact: str) -> str | None:
        value = self._get(item, fact)
        return str(value) if value not in (None, "") else None

    def _time(self, item: dict[str, Any], fact: str) -> datetime | None:
        try:
            return read_time(self._get(item, fact), self.unit, self.zone)
        except AnswerError as bad:
            raise AnswerError(f"fields.{fact} ({self.paths[fact]!r}): {bad}") from None

    def _number(self, item: dict[str, Any], fact: str) -> float | None:
        value = self._get(item, fact)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise AnswerError(f"fields.{fact} ({self.paths[fact]!r}): {value!r} is not a "
                              f"number") from None

    def _format(self, item: dict[str, Any]) -> str:
        given = self._text(item, "format")
        if given:
            # "wav", or a MIME type's subtype: audio/x-wav -> wav
            return given.lower().rsplit("/", 1)[-1].removeprefix("x-")
        found = _AUDIO.search((self.download_url(item) or "").split("?")[0])
        return found.group(1).lower() if found else self.default_format
