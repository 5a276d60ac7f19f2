"""Events sent by phones and the per-call timelines built from them (no pjsua2 here).

Times are ``time.monotonic()`` readings taken in the phone process.  On Linux
that clock is system-wide, so events from different phones on one host can be
compared directly; ``wall`` is the UTC epoch time for reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from harness.sip.srtp import label as srtp_label


@dataclass(frozen=True)
class Event:
    """One immutable thing a phone saw or did."""

    kind: str  # ready, reg, call, incoming, media, capture, play, dtmf, sip, stall, slip, ack, nack, fatal
    phone: str
    t: float
    wall: float
    call: str | None = None  # the phone-local call handle
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, phone: str, raw: Mapping[str, Any]) -> Event:
        data = {k: v for k, v in raw.items() if k not in ("kind", "t", "wall", "call")}
        return cls(raw["kind"], phone, raw["t"], raw["wall"], raw.get("call"), data)

    def label(self) -> str:
        """A compact label such as ``EARLY(180)`` or ``DISCONNECTED(486 Busy Here)``."""
        d = self.data
        if self.kind == "call":
            code = d.get("code") or 0
            if d["state"] == "DISCONNECTED":
                return f"DISCONNECTED({code} {d.get('reason', '')})".replace(" )", ")")
            return f"{d['state']}({code})" if code and d["state"] == "EARLY" else str(d["state"])
        if self.kind == "dtmf":
            return f"DTMF({d['digit']}/{d['method']})"
        if self.kind == "stall":
            return f"PHONE_STALLED({float(d['seconds']):.2f}s)"
        if self.kind == "slip":
            return f"JITTER_SLIP(-{d['dropped_ms']}ms/+{d['made_up_ms']}ms)"
        if self.kind == "play":
            return f"PLAY_{str(d['state']).upper()}({d.get('name', '')})"
        if self.kind == "media":
            if not d.get("active"):
                return "MEDIA_INACTIVE"
            # Encrypted audio says so on the timeline: MEDIA_ACTIVE(SRTP AES_CM_128_HMAC_SHA1_80 RTP/SAVP)
            security = srtp_label(d.get("srtp"))
            return "MEDIA_ACTIVE" if security == "RTP" else f"MEDIA_ACTIVE({security})"
        return self.kind.upper()


class CallTimeline:
    """Everything one call leg has seen, in order, on the controller side."""

    def __init__(self, phone: str, handle: str, t0: float, description: str) -> None:
        self.phone = phone
        self.handle = handle
        self.t0 = t0
        self.description = description
        self.events: list[Event] = []
        self.sip_call_id: str | None = None
        self.capture_path: str | None = None
        self.capture_t0: float | None = None

    def add(self, event: Event) -> None:
        self.events.append(event)
        if event.kind == "call" and event.data.get("sip_call_id"):
            self.sip_call_id = event.data["sip_call_id"]
        if event.kind == "capture":
            self.capture_path = event.data["path"]
            self.capture_t0 = event.t

    @property
    def state(self) -> str:
        states = [e.data["state"] for e in self.events if e.kind == "call"]
        return states[-1] if states else "NULL"

    def last(self, kind: str, **match: Any) -> Event | None:
        for event in reversed(self.events):
            if event.kind == kind and all(event.data.get(k) == v for k, v in match.items()):
                return event
        return None

    def slipped(self, since: float, until: float) -> tuple[float, float]:
        """Seconds of audio the jitter buffer threw away and made up between ``since`` and
        ``until`` (monotonic): what was heard then is that much shorter, or longer, than sent."""
        dropped, made_up = _slip_ms(e for e in self.events if e.kind == "slip" and since <= e.t <= until)
        return dropped / 1000, made_up / 1000

    def slips_after(self, origin: float) -> list[tuple[float, float]]:
        """The jitter buffer's slips as ``(seconds after origin, seconds made up or thrown away)``.

        ``origin`` is monotonic (a capture's first sample, say); a slip reported up to a
        look before it is kept at 0, as its audio may still be in what follows.
        """
        return [(max(0.0, e.t - origin), (int(e.data["made_up_ms"]) + int(e.data["dropped_ms"])) / 1000)
                for e in self.events if e.kind == "slip" and e.t >= origin - 0.3]

    def final_status(self) -> tuple[int, str] | None:
        ev = self.last("call", state="DISCONNECTED")
        return (int(ev.data.get("code") or 0), str(ev.data.get("reason", ""))) if ev else None

    def media_security(self) -> dict[str, Any] | None:
        """How the audio was last negotiated: ``{"active": True, "suite": ..., "profile": ...}``.

        None before the call had audio; ``active`` False for clear RTP.
        """
        ev = self.last("media", active=True)
        return dict(ev.data.get("srtp") or {"active": False, "suite": "", "profile": ""}) if ev else None

    def dtmf_digits(self) -> str:
        return "".join(e.data["digit"] for e in self.events if e.kind == "dtmf")

    def summary(self) -> str:
        """``CALLING@0.0s, EARLY(180)@0.4s, ...`` -- signalling, media, DTMF, stalls and slips; a
        run of jitter-buffer slips with nothing else between is one ``JITTER_SLIP`` with its span."""
        shown = [e for e in self.events if e.kind in ("call", "media", "dtmf", "play", "stall", "slip")]
        if not shown:
            return "(no events)"
        labels: list[str] = []
        for slips, group in groupby(shown, key=lambda e: e.kind == "slip"):
            run = list(group)
            if slips:
                labels.append(self._slips_label(run))
            else:
                labels += [f"{e.label()}@{e.t - self.t0:.1f}s" for e in run]
        return ", ".join(labels)

    def _slips_label(self, run: list[Event]) -> str:
        dropped, made_up = _slip_ms(run)
        span = f"{run[0].t - self.t0:.1f}s" + (f"-{run[-1].t - self.t0:.1f}s" if len(run) > 1 else "")
        return f"JITTER_SLIP(-{dropped}ms/+{made_up}ms)@{span}"

    def __str__(self) -> str:
        return f"{self.handle} ({self.description})"


def _slip_ms(slips: Iterable[Event]) -> tuple[int, int]:
    """Milliseconds of audio ``slips`` say their jitter buffer threw away and made up."""
    dropped = made_up = 0
    for e in slips:
        dropped += int(e.data["dropped_ms"])
        made_up += int(e.data["made_up_ms"])
    return dropped, made_up
