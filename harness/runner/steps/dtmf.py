"""Steps about DTMF: send_dtmf (RFC 4733, SIP INFO or in-band) and expect_dtmf."""

from __future__ import annotations

import time
from typing import Any

from harness.runner.run import CallState, ScenarioRun
from harness.runner.steps import handles
from harness.runner.steps.media import FLUSH_ALLOWANCE, POLL, idle
from harness.scenario.model import ExpectDtmfStep, SendDtmfStep
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline

INBAND_ON, INBAND_OFF = 0.1, 0.1
RFC4733_PER_DIGIT = 0.25  # PJSIP's 160 ms events plus the gap it leaves


@handles(SendDtmfStep)
def send_dtmf(run: ScenarioRun, step: SendDtmfStep) -> dict[str, Any]:
    state = run.call(step.call)
    tl = state.timeline
    sent_at = round(time.monotonic() - tl.t0, 3)
    if step.method == "inband":
        from harness.audio.tone import dtmf_tones

        path = run.write_generated(f"dtmf-{len(step.digits)}", dtmf_tones(step.digits, INBAND_ON, INBAND_OFF))
        run.board.command(state.phone, "play", handle=tl.handle, path=path, loop=False, name="dtmf")
        idle(run, run.budget(len(step.digits) * (INBAND_ON + INBAND_OFF)))
    else:
        run.board.command(state.phone, "dtmf", handle=tl.handle, digits=step.digits, method=step.method)
        if step.method == "rfc4733":
            idle(run, run.budget(len(step.digits) * RFC4733_PER_DIGIT))
    return {"digits": step.digits, "method": step.method, "sent_at_s": sent_at}


def _leg(run: ScenarioRun, step: ExpectDtmfStep) -> tuple[CallState | None, CallTimeline]:
    if step.agent is not None:
        legs = run.board.calls_of(run.agent_phone[step.agent])
        if not legs:
            raise run.fail("expect_dtmf", f"agent {step.agent} has no call to receive DTMF on")
        return None, legs[-1]
    state = run.call(step.call or run.last_call or "")
    return state, state.timeline


def _inband(leg: CallTimeline, since: float) -> str:
    from harness.audio.dtmf import detect_dtmf
    from harness.audio.wav import read_wav
    from harness.errors import AudioError

    if leg.capture_path is None or leg.capture_t0 is None:
        return ""
    try:
        samples, _ = read_wav(leg.capture_path)
    except (AudioError, OSError):
        return ""
    start = max(0, int((since - leg.capture_t0) * 8000))
    return "".join(hit.digit for hit in detect_dtmf(samples[start:]))


@handles(ExpectDtmfStep)
def expect_dtmf(run: ScenarioRun, step: ExpectDtmfStep) -> dict[str, Any]:
    _, leg = _leg(run, step)
    since = leg.t0  # DTMF sent before this step started still counts
    seen: dict[str, str] = {"signalled": "", "inband": ""}
    last = [0.0]

    def received() -> str | None:
        seen["signalled"] = "".join(e.data["digit"] for e in leg.events if e.kind == "dtmf" and e.t >= since)
        if step.digits in seen["signalled"]:
            return "signalled"
        if time.monotonic() - last[0] >= POLL:
            last[0] = time.monotonic()
            seen["inband"] = _inband(leg, since)
            if step.digits in seen["inband"]:
                return "inband"
        return None

    try:
        how = run.board.wait(received, run.budget(step.within + FLUSH_ALLOWANCE),
                             lambda: f"DTMF {step.digits!r}", timeline=leg)
    except WaitTimeout:
        raise run.fail("expect_dtmf", (
            f"DTMF {step.digits!r} not received within {step.within:.1f}s on call {leg}: got "
            f"{seen['signalled']!r} signalled (RFC 4733/INFO) and {seen['inband']!r} in-band")) from None
    methods = sorted({e.data["method"] for e in leg.events if e.kind == "dtmf"}) if how == "signalled" else ["inband"]
    return {"digits": step.digits, "received_as": methods}
