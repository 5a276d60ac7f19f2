"""Which ``recording_name`` template names a test call's recording: pure, no SIP, no API.

Given the names of the recordings that appeared around each test call and what the
call is known by -- its Call-ID, the caller's number, the number dialled, the X-
headers the platform put on the agent's INVITE -- :func:`suggest` says which
templates give the call's recording its name: the profile's own, and candidates made
by finding a spelling of one of those identities in a name (the Call-ID as sent,
letters and digits only as ``${FILTER(0-9A-Za-z,...)}`` keeps it, with ``@`` and ``.``
replaced by ``_``, lower-cased, ...), a ``${UNIQUEID}`` or a time of the call.  A
template must name every call's recording; the one that carries the Call-ID with the
fewest filters is recommended.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from harness.targets.name_filters import apply, parse_filter
from harness.targets.recording_name import NameTemplate

CALL_ID_SPELLINGS = ("", "|alnum", "|replace:@:_", "|replace:@:_|replace:.:_", "|lower",
                     "|alnum|lower", "|replace:@:_|replace:.:_|lower", "|upper", "|alnum|upper",
                     "|hex")
OTHER_SPELLINGS = ("", "|alnum", "|lower")
EARLY, LATE = timedelta(minutes=2), timedelta(minutes=10)  # a name's time around the call's start
_EPOCH_ID = re.compile(r"(?<![0-9])([1-4]\d{9})\.\d+(?![0-9])")
_EPOCH = re.compile(r"(?<![0-9.])([1-4]\d{9})(?![0-9])")
_STAMP = re.compile(r"(?<![0-9])\d{8}-\d{6}(?![0-9])")


@dataclass(frozen=True)
class CallSeen:
    """One test call: what it is known by, and the recordings that appeared around it."""

    call_id: str
    started: datetime  # UTC
    names: tuple[str, ...]  # recordings listed in the call's window
    identities: Mapping[str, str] = field(default_factory=dict)  # caller, did, header:X-Name

    def values(self) -> dict[str, str]:
        return {"call_id": self.call_id, **self.identities}


@dataclass(frozen=True)
class Naming:
    """What the calls say about ``recording_name``."""

    template: str | None  # recommended (None: no template names every call's recording)
    also: tuple[str, ...] = ()  # others that fit every call as well (these calls cannot tell)
    profile_fits: bool | None = None  # the profile's template names them (None: it has none)
    recordings: Mapping[str, str] = field(default_factory=dict)  # Call-ID -> its recording

    def line(self) -> str:
        """The line to put under ``adapter:`` in the profile."""
        return f'recording_name: "{self.template}"' if self.template else ""


def suggest(calls: Sequence[CallSeen], profile: str | None = None, zone: tzinfo = UTC) -> Naming:
    """The templates that name every call's recording, best first (see the module's docstring)."""
    tried = ([profile] if profile else []) + [t for c in calls for t in candidates(c, zone)]
    fits = [t for t in dict.fromkeys(tried) if all(_names(t, c, zone) for c in calls)]
    fits.sort(key=_rank)
    profile_fits = None if profile is None else profile in fits
    if profile_fits:
        fits.remove(profile)  # type: ignore[arg-type]
        fits.insert(0, profile)  # type: ignore[arg-type]
    if not fits or not calls:
        return Naming(None, profile_fits=profile_fits)
    best = fits[0]
    rivals = tuple(t for t in fits[1:] if _rank(t)[0] == _rank(best)[0])
    found = {c.call_id: _names(best, c, zone)[0] for c in calls}
    return Naming(best, rivals, profile_fits, found)


def candidates(call: CallSeen, zone: tzinfo = UTC) -> list[str]:
    """Templates made from the call's names and identities (unchecked)."""
    out: list[str] = []
    for name in call.names:
        base = name.rsplit("/")[-1]
        if "{" in base or "}" in base:
            continue
        for made in _with_identity(base, call):
            out.append(_with_time(made, call, zone))
    return list(dict.fromkeys(out))


def _with_identity(base: str, call: CallSeen) -> list[str]:
    """``base`` with each identity's spellings made placeholders, one identity after another."""
    made = [base]
    for key, value in call.values().items():
        placeholder = "header:" + key.split(":", 1)[1] if key.startswith("header:") else key
        for chain in CALL_ID_SPELLINGS if key == "call_id" else OTHER_SPELLINGS:
            spelled = apply([parse_filter(f) for f in chain.split("|")[1:]], value)
            if len(spelled) < 3:
                continue
            made += [t for t in (_replace(m, spelled, placeholder + chain) for m in made) if t]
    return made[1:] or [base]


def _replace(template: str, text: str, placeholder: str) -> str | None:
    """``template`` with the first ``text`` in a literal part made ``{placeholder}``, or None."""
    parts = re.split(r"(\{[^{}]*\})", template)
    for i, part in enumerate(parts):
        if not part.startswith("{") and text in part:
            parts[i] = part.replace(text, "{" + placeholder + "}", 1)
            return "".join(parts)
    return None


def _with_time(made: str, call: CallSeen, zone: tzinfo) -> str:
    """``made`` with a ``${UNIQUEID}``, ``${EPOCH}`` or ``%Y%m%d-%H%M%S`` of the call's time as
    a placeholder (only in its literal parts)."""
    local = call.started.astimezone(zone)

    def unique(m: re.Match[str]) -> str:
        return "{uniqueid}" if _near(m.group(1), call) else m.group(0)

    def epoch(m: re.Match[str]) -> str:
        return "{start}" if _near(m.group(1), call) else m.group(0)

    def stamp(m: re.Match[str]) -> str:
        return "{start:%Y%m%d-%H%M%S}" if _near_stamp(m.group(0), local) else m.group(0)

    parts = re.split(r"(\{[^{}]*\})", made)
    for i, part in enumerate(parts):
        if not part.startswith("{"):
            parts[i] = _STAMP.sub(stamp, _EPOCH.sub(epoch, _EPOCH_ID.sub(unique, part)))
    return "".join(parts)


def _near(epoch: str, call: CallSeen) -> bool:
    moment = datetime.fromtimestamp(int(epoch), UTC)
    return call.started - EARLY <= moment <= call.started + LATE


def _near_stamp(stamp: str, local: datetime) -> bool:
    moment = datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(tzinfo=local.tzinfo)
    return local - EARLY <= moment <= local + LATE


def _names(template: str, call: CallSeen, zone: tzinfo) -> list[str]:
    """The names of ``call`` that ``template`` gives to this call (at its time)."""
    try:
        names = NameTemplate(template, zone)
    except ValueError:
        return []
    out = []
    for name in call.names:
        reading = names.read(name, call.call_id, call.identities)
        if reading is None or (names.carries_call_id and not reading.matched):
            continue
        if reading.in_window(call.started - EARLY, call.started + LATE):
            out.append(name)
    return out if names.carries_call_id or len(out) == 1 else []


def _rank(template: str) -> tuple[bool, int, int, int]:
    """Templates that carry the Call-ID first, then the most placeholders (the fewest literal
    copies of a caller's number), then the fewest filters, then the shortest."""
    return ("{call_id" not in template, -template.count("{"), template.count("|"), len(template))


def undecided(naming: Naming, probe: str) -> tuple[str, ...]:
    """The rivals of the recommended template that a call with a Call-ID like ``probe`` would
    tell from it (they spell ``probe`` otherwise): reasons to place another call."""
    if naming.template is None:
        return ()
    ours = _spelled(naming.template, probe)
    return tuple(t for t in naming.also if _spelled(t, probe) != ours)


def _spelled(template: str, call_id: str) -> str | None:
    found = re.search(r"\{call_id((?:\|[^{}]*)?)\}", template)
    if found is None:
        return None
    return apply([parse_filter(f) for f in found.group(1).split("|")[1:]], call_id)
