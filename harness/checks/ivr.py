"""The IVR verdicts (IVR语音导航): a prompt heard in time, silence held, DTMF received.

Pure functions of what the harness recorded: each look at the caller's capture
(the prompt matcher's best fit from the listening cursor on), the audio of a
silence window, the DTMF a leg signalled and the digits found in its audio, and
the call's timeline.  The steps (``harness/steps/expect_prompt.py``,
``expect_silence.py``, ``expect_dtmf.py``) wait, capture and read; these decide.

Times are readings of the host's monotonic clock, as phones stamp events;
a figure "on the call" is seconds since the call's timeline began.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.audio.pcm import RATE, FloatArray
from harness.audio.prompt import MIN_COVERAGE, PromptMatch
from harness.checks.verdict import Verdict, failed, passed
from harness.sip.timeline import CallTimeline

SIGNALLED, INBAND = "signalled", "inband"


def _on_call(tl: CallTimeline, capture_t0: float, seconds_into_capture: float) -> float:
    return round(capture_t0 + seconds_into_capture - tl.t0, 3)


# -- expect_prompt ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PromptWanted:
    """The prompt a step listens for, and its window."""

    prompt: str  # its id in the prompt library
    reference: str  # the reference WAV's path
    length_s: float  # the reference's length
    within: float  # it must start within this of the step's beginning
    min_score: float
    began: float  # when the step began


@dataclass(frozen=True)
class PromptLook:
    """One look at the caller's capture: the reference's best fit from the cursor on."""

    match: PromptMatch  # its times are seconds after the cursor
    cursor: float  # seconds into the capture already listened to before this look
    capture_t0: float  # when the capture's first sample was heard
    captured_s: float  # seconds of audio captured when the look was taken

    @property
    def start_s(self) -> float:
        """Where the fit starts, in seconds into the capture."""
        return self.cursor + self.match.start_s

    @property
    def end_s(self) -> float:
        return self.cursor + self.match.end_s

    def after(self, began: float) -> float:
        """Seconds from ``began`` to the fit's start."""
        return self.capture_t0 + self.start_s - began


def prompt_heard(look: PromptLook, want: PromptWanted) -> bool:
    """Whether this look heard the prompt: score and coverage both high enough (not yet when)."""
    return look.match.score >= want.min_score and look.match.coverage >= MIN_COVERAGE


def best_look(looks: Sequence[PromptLook]) -> PromptLook | None:
    """The first of the best-scoring looks; None when nothing scored above zero."""
    scored = [look for look in looks if look.match.score > 0.0]
    return max(scored, key=lambda look: look.match.score) if scored else None


def prompt_verdict(want: PromptWanted, looks: Sequence[PromptLook], tl: CallTimeline) -> Verdict:
    """Heard (its first look that heard it) and early enough, or why not, from every look taken."""
    heard = next((look for look in looks if prompt_heard(look, want)), None)
    if heard is None:
        return failed(_not_heard(want, looks, tl))
    late = heard.after(want.began)
    if late > want.within:
        return failed(
            f"prompt {want.prompt!r} was heard, but only {late:.2f}s after the step began, "
            f"{late - want.within:.2f}s later than allowed ({want.within:.1f}s): dead air or a slow "
            f"prompt on call {tl}")
    return passed({"prompt": want.prompt, "score": round(float(heard.match.score), 3),
                   "coverage": round(float(heard.match.coverage), 3),
                   "start_s": _on_call(tl, heard.capture_t0, heard.start_s),
                   "end_s": _on_call(tl, heard.capture_t0, heard.end_s),
                   "reference": want.reference})


def _not_heard(want: PromptWanted, looks: Sequence[PromptLook], tl: CallTimeline) -> str:
    best = best_look(looks)
    score, coverage = (best.match.score, best.match.coverage) if best else (0.0, 0.0)
    where = f" at {best.start_s:.2f}s into the capture" if best is not None else ""
    if best is not None and score >= want.min_score and best.after(want.began) > want.within:
        where += (f", {best.after(want.began):.2f}s after the step began, later than the allowed "
                  f"{want.within:.1f}s (dead air or a slow prompt, and not heard whole)")
    captured = looks[-1].captured_s if looks else 0.0
    return (
        f"prompt {want.prompt!r} ({Path(want.reference).name}, {want.length_s:.1f}s) not heard on call "
        f"{tl} within {want.within:.1f}s: best score {score:.2f} "
        f"(coverage {coverage:.2f}){where}, need score >= {want.min_score:.2f} and "
        f"coverage >= {MIN_COVERAGE:.2f}; {captured:.1f}s of audio captured; "
        f"timeline: {tl.summary()}"
    )


# -- expect_silence --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class QuietWindow:
    """The audio captured over a silence window."""

    samples: FloatArray
    first: float  # seconds into the capture where the window begins
    capture_t0: float  # when the capture's first sample was heard


def loud_spans(window: FloatArray, limit_dbfs: float, offset: float) -> list[tuple[float, float, float]]:
    """20 ms frames louder than ``limit_dbfs``, merged into (start, end, peak dBFS) spans."""
    frame = RATE // 50
    n = len(window) // frame
    if n == 0:
        return []
    frames = window[: n * frame].reshape(n, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    spans: list[tuple[float, float, float]] = []
    for i in np.flatnonzero(level > limit_dbfs):
        t = offset + i / 50
        if spans and t - spans[-1][1] < 0.03:
            spans[-1] = (spans[-1][0], t + 0.02, max(spans[-1][2], float(level[i])))
        else:
            spans.append((t, t + 0.02, float(level[i])))
    return spans


def silence_verdict(heard: QuietWindow, duration: float, max_level_dbfs: float,
                    tl: CallTimeline) -> Verdict:
    """Silent when no 20 ms frame of the window is louder than ``max_level_dbfs``."""
    loud = loud_spans(heard.samples, max_level_dbfs, heard.first)
    if loud:
        shown = ", ".join(f"{_on_call(tl, heard.capture_t0, a):.2f}-"
                          f"{_on_call(tl, heard.capture_t0, b):.2f}s at {peak:.0f} dBFS"
                          for a, b, peak in loud[:5])
        return failed(f"expected {duration:.1f}s of silence (<= {max_level_dbfs:.0f} dBFS) on call "
                      f"{tl}, heard audio at {shown}")
    return passed({"from_s": _on_call(tl, heard.capture_t0, heard.first), "seconds": duration,
                   "captured_s": round(len(heard.samples) / RATE, 3)})


# -- expect_dtmf -----------------------------------------------------------------------------
@dataclass(frozen=True)
class DtmfHeard:
    """The digits a leg received so far, by the two ways they arrive."""

    signalled: str  # in RFC 4733 events or SIP INFO, in order
    inband: str  # detected as tones in the leg's captured audio


def signalled_digits(leg: CallTimeline, since: float) -> str:
    """The digits the leg's phone reported as DTMF events from ``since`` on."""
    return "".join(e.data["digit"] for e in leg.events if e.kind == "dtmf" and e.t >= since)


def dtmf_arrival(digits: str, heard: DtmfHeard) -> str | None:
    """How ``digits`` arrived (signalled first), or None while they have not."""
    if digits in heard.signalled:
        return SIGNALLED
    return INBAND if digits in heard.inband else None


def agent_dtmf_leg(agent: str, attributed: list[CallTimeline],
                   legs: list[CallTimeline]) -> CallTimeline | Verdict:
    """Which of ``agent``'s legs DTMF is expected on: the last one attributed to a scenario call
    (``expect_agent`` tied it), else its last leg; a failed verdict when it has none."""
    if attributed:
        return attributed[-1]
    if legs:
        return legs[-1]
    return failed(f"agent {agent} has no call to receive DTMF on")


def dtmf_verdict(digits: str, within: float, leg: CallTimeline, heard: DtmfHeard) -> Verdict:
    """Received, and the methods the leg saw them by, or what was received instead."""
    how = dtmf_arrival(digits, heard)
    if how is None:
        return failed(f"DTMF {digits!r} not received within {within:.1f}s on call {leg}: got "
                      f"{heard.signalled!r} signalled (RFC 4733/INFO) and {heard.inband!r} in-band")
    methods = (sorted({e.data["method"] for e in leg.events if e.kind == "dtmf"}) if how == SIGNALLED
               else [INBAND])
    return passed({"digits": digits, "received_as": methods})
