"""Call timelines built by hand, event by event, as a phone reports them on a real call."""

from __future__ import annotations

from typing import Any

from harness.sip.timeline import CallTimeline, Event

T0 = 1000.0  # the call's first event, on the host's monotonic clock
CALLER = "caller-caller"
TO_IVR = f"{CALLER} -> sip:4000@127.0.0.1:29800;transport=udp"


def timeline(*events: tuple[float, str, dict[str, Any]], handle: str = "c1",
             description: str = TO_IVR, phone: str = CALLER) -> CallTimeline:
    """A leg with ``(seconds after T0, kind, data)`` events, in order."""
    tl = CallTimeline(phone, handle, T0, description)
    for at, kind, data in events:
        tl.add(Event(kind, phone, T0 + at, 1.7e9 + at, handle, data))
    return tl


def state(at: float, name: str, code: int = 0, reason: str = "",
          call_id: str = "YTnrzPrL16oZ") -> tuple[float, str, dict[str, Any]]:
    """A call-state event as ``onCallState`` emits it."""
    return at, "call", {"state": name, "code": code, "reason": reason, "sip_call_id": call_id}


def answered_call(*then: tuple[float, str, dict[str, Any]], **kw: Any) -> CallTimeline:
    """Dialled, answered at once with audio (how the reference IVR picks up), then ``then``."""
    return timeline(state(0.0, "CALLING"), state(0.02, "EARLY", 180, "Ringing"),
                    state(0.1, "CONNECTING", 200, "OK"), (0.1, "media", {"active": True}),
                    state(0.1, "CONFIRMED", 200, "OK"), *then, **kw)
