"""What a queued caller hears (等待音): music, a tone, speech or silence, held long enough.

Pure functions of the labels ``harness.audio.kind.classify`` gave the caller's
capture, 20 ms frame by frame, from where the step began listening.  The step
(``harness/steps/expect_audio.py``) captures and polls; this decides.

The rule: the caller heard ``kind`` for ``for`` seconds when some window of
``for`` seconds, starting no later than ``within`` after the step began,
holds that kind in at least :data:`MIN_SHARE` of its frames (a lost packet, a
click or a word over the music may take the rest).  The window searched is
each start in 20 ms steps; the evidence is the shares of every kind in the
window chosen -- the first that passes, or else the one where the wanted kind
held most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.audio.kind import FRAME_S, KINDS, Labels, shares
from harness.checks.verdict import Verdict, failed, passed
from harness.sip.timeline import CallTimeline

MIN_SHARE = 0.8
"""The share of a window's frames the expected kind must hold."""


@dataclass(frozen=True)
class AudioWanted:
    """What the step expects: a kind, for how long, starting within how long."""

    kind: str  # one of harness.audio.kind.KINDS
    seconds: float  # ``for``
    within: float  # the window must start within this of the step's beginning


@dataclass(frozen=True, eq=False)
class AudioHeard:
    """The labels of the caller's capture from the step's beginning on."""

    labels: Labels  # one per 20 ms frame, from ``first``
    first: float  # seconds into the capture where the labels begin (the step's beginning)
    capture_t0: float  # when the capture's first sample was heard


@dataclass(frozen=True)
class AudioWindow:
    """One window of ``for`` seconds: where it starts (seconds after the step began) and its shares."""

    start_s: float
    shares: dict[str, float]


def windows(want: AudioWanted, labels: Labels) -> list[AudioWindow]:
    """Every whole window of ``want.seconds`` starting within ``want.within``, 20 ms apart."""
    size = round(want.seconds / FRAME_S)
    last = min(labels.size - size, round(want.within / FRAME_S))
    if last < 0:
        return []
    counts = np.stack([np.concatenate(([0], np.cumsum(labels == k))) for k in range(len(KINDS))])
    starts = np.arange(last + 1)
    held = (counts[:, starts + size] - counts[:, starts]) / size
    return [AudioWindow(round(float(s) * FRAME_S, 3), {k: float(held[i, j]) for i, k in enumerate(KINDS)})
            for j, s in enumerate(starts)]


def heard_long_enough(want: AudioWanted, labels: Labels) -> AudioWindow | None:
    """The first window where ``want.kind`` holds :data:`MIN_SHARE`, or None (so far)."""
    return next((w for w in windows(want, labels) if w.shares[want.kind] >= MIN_SHARE), None)


def proportions(window_shares: dict[str, float]) -> str:
    """``silence 100 %`` / ``music 62 %, silence 38 %``: the kinds heard, largest first."""
    kinds = sorted((k for k in KINDS if window_shares[k] >= 0.005), key=lambda k: -window_shares[k])
    return ", ".join(f"{k} {window_shares[k]:.0%}".replace("%", " %") for k in kinds) or "nothing"


def audio_verdict(want: AudioWanted, heard: AudioHeard, tl: CallTimeline) -> Verdict:
    """Heard ``want.kind`` for ``want.seconds`` in time, or what was heard instead, with proportions."""
    every = windows(want, heard.labels)
    good = next((w for w in every if w.shares[want.kind] >= MIN_SHARE), None)
    if good is None:
        return failed(_not_heard(want, heard, every, tl))
    began = heard.capture_t0 + heard.first - tl.t0
    return passed({"kind": want.kind, "seconds": want.seconds,
                   "from_s": round(began + good.start_s, 3),
                   "after_s": good.start_s,
                   "shares": {k: round(v, 3) for k, v in good.shares.items()},
                   "min_share": MIN_SHARE})


def _not_heard(want: AudioWanted, heard: AudioHeard, every: list[AudioWindow], tl: CallTimeline) -> str:
    if not every:
        got = heard.labels.size * FRAME_S
        return (f"expected {want.kind} for {want.seconds:.1f}s on call {tl}, but only {got:.1f}s of "
                f"audio was captured ({proportions(shares(heard.labels))}); timeline: {tl.summary()}")
    best = max(every, key=lambda w: w.shares[want.kind])
    where = f" (the window {best.start_s:.1f}s after the step began)" if best.start_s else ""
    return (f"heard {want.seconds:.1f} s: {proportions(best.shares)}, expected {want.kind} "
            f"(at least {MIN_SHARE:.0%} of the window, starting within {want.within:.1f}s){where} "
            f"on call {tl}; timeline: {tl.summary()}")
