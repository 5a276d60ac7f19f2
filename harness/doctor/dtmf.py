"""Check 5: a DTMF round trip in the profile's ``dtmf_method`` (the profile's ``doctor.dtmf_probe``).

Call the probe's DID, hear out ``after_prompt`` if given, send the digits,
and listen for ``expect_prompt`` on the caller's capture.  When it is not
heard, the other methods are tried, each on a fresh call, so that "the
platform takes DTMF, but not the way the profile sends it" is told apart
from "the platform does not react at all".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from harness.doctor.call import RATE, await_answer, caller_ready, dial, hang_up, samples
from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped
from harness.sip.controller import WaitTimeout
from harness.sip.timeline import CallTimeline
from harness.targets.model import DtmfProbe

METHODS = ("rfc4733", "info", "inband")
INBAND_ON, INBAND_OFF = 0.1, 0.1
MIN_SCORE = 0.8
FLUSH_ALLOWANCE = 1.0  # seconds the capture file may lag the call
SLACK = 0.2  # listen from a little before the digits went: the capture's clock is approximate
POLL = 0.2


@dataclass(frozen=True)
class Attempt:
    method: str
    heard: bool
    detail: str  # "heard 1.2s after the digits (score 0.98)" or why not


def probe(c: Checkup) -> Iterator[Finding]:
    p = c.target.doctor.dtmf_probe
    if p is None:
        yield skipped(5, "dtmf", "the profile declares no DTMF probe (add doctor: {dtmf_probe: {did: "
                                 "main, digits: \"9\", expect_prompt: PROMPT, within: 10s}})")
        return
    why = caller_ready(c, p.did) or ("" if c.answered.get(p.did, True) else
                               f"the test call to did {p.did} was not answered (check 4)")
    if why:
        yield skipped(5, "dtmf", why)
        return
    configured = c.target.dtmf_method
    tried: list[Attempt] = []
    for method in [configured] + [m for m in METHODS if m != configured]:
        outcome = _attempt(c, p, method)
        if isinstance(outcome, Finding):
            yield outcome
            return
        tried.append(outcome)
        if outcome.heard:
            break
    yield _verdict(c, p, configured, tried)


def _verdict(c: Checkup, p: DtmfProbe, configured: str, tried: list[Attempt]) -> Finding:
    said = "; ".join(f"by {a.method}: {a.detail}" for a in tried)
    what = f"digits {p.digits!r} then prompt {p.expect_prompt!r}"
    if tried[0].heard:
        return ok(5, "dtmf", f"{what}: {said}")
    reacted = next((a for a in tried if a.heard), None)
    if reacted is not None:
        return fail(5, "dtmf", f"DTMF method mismatch: the platform reacts to {reacted.method}, the "
                               f"profile says {configured} ({what}: {said})",
                    f"set dtmf_method: {reacted.method} in {c.target.path}, or make the platform "
                    f"accept {configured}")
    return fail(5, "dtmf", f"no reaction to DTMF in any method ({what}: {said})",
                f"check doctor.dtmf_probe in {c.target.path} (digits, expect_prompt, after_prompt) "
                "against the IVR; if the platform hears no RTP from us, no DTMF reaches it either")


def _attempt(c: Checkup, p: DtmfProbe, method: str) -> Attempt | Finding:
    tl = dial(c, p.did)
    try:
        problem = await_answer(c, tl, 5, p.did)
        if problem is not None:
            return problem
        start = 0.0
        if p.after_prompt:
            heard, detail = _hear(c, tl, p.after_prompt, 0.0, time.monotonic(), p.within)
            if heard is None:
                return fail(5, "dtmf", f"prompt {p.after_prompt!r} (after_prompt) was not heard on "
                                       f"did {p.did} ({detail}), so no digits were sent",
                            f"check doctor.dtmf_probe.after_prompt in {c.target.path}: is it what "
                            f"did {p.did} plays first?")
            start = heard
        sent = time.monotonic()
        _send(c, tl, p.digits, method)
        offset = max(start, sent - (tl.capture_t0 or sent) - SLACK)
        found, detail = _hear(c, tl, p.expect_prompt, offset, sent, p.within)
        return Attempt(method, found is not None, detail)
    finally:
        hang_up(c, tl)


def _send(c: Checkup, tl: CallTimeline, digits: str, method: str) -> None:
    if method != "inband":
        c.board.command(tl.phone, "dtmf", handle=tl.handle, digits=digits, method=method)
        return
    from harness.audio.tone import dtmf_tones
    from harness.audio.wav import write_wav

    path = c.work / "phones" / f"dtmf-{tl.handle}.wav"
    write_wav(path, dtmf_tones(digits, INBAND_ON, INBAND_OFF))
    c.board.command(tl.phone, "play", handle=tl.handle, path=str(path), loop=False, name="dtmf")


def _hear(c: Checkup, tl: CallTimeline, prompt: str, offset: float, since: float,
          within: float) -> tuple[float | None, str]:
    """Listen from ``offset`` s into the capture for ``prompt``, to start ``within`` s of ``since``.

    Returns the capture time where the prompt ended (None if it was not heard) and what was heard.
    """
    from harness.audio.prompt import MIN_COVERAGE, match_prompt
    from harness.audio.wav import read_wav

    assert c.prompts is not None  # the profile loader insists on a library for a probe
    reference, _ = read_wav(c.prompts.prompts[prompt].file)
    length = len(reference) / RATE
    best = [0.0]
    last = [0.0]

    def heard() -> float | None:
        if time.monotonic() - last[0] < POLL:
            return None
        last[0] = time.monotonic()
        match = match_prompt(samples(tl)[int(offset * RATE):], reference)
        best[0] = max(best[0], match.score)
        return offset + match.start_s if match.score >= MIN_SCORE and match.coverage >= MIN_COVERAGE \
            else None

    try:
        at = c.board.wait(heard, within + length + FLUSH_ALLOWANCE, lambda: f"prompt {prompt!r}",
                          timeline=tl)
    except WaitTimeout:
        return None, f"{prompt!r} not heard within {within:g}s (best score {best[0]:.2f})"
    delay = (tl.capture_t0 or since) + at - since
    if delay > within:
        return None, f"{prompt!r} began only {delay:.1f}s after, later than {within:g}s"
    return at + length, f"heard {max(0.0, delay):.1f}s after the digits (score {best[0]:.2f})"
