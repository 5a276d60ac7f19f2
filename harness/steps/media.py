"""What the audio step kinds share at run time: waiting while phones run, reading a call's capture.

Used by play, wait, expect_prompt, expect_silence, send_dtmf and the recording kinds;
what they heard is judged in ``harness.checks.ivr``.

Listening is sequential per call: each call keeps a cursor into its capture,
and an expectation searches from the cursor on, then moves it past what it
consumed, so "greeting then menu" means the menu was heard after the greeting.
Captures are read while the phone is still writing them (PJSIP flushes its
WAV writer every few hundred milliseconds), hence the small flush allowance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from harness.runner.run import CallState, ScenarioRun

T = TypeVar("T")
RATE = 8000
FLUSH_ALLOWANCE = 1.0  # seconds the capture file may lag the call
POLL = 0.2  # seconds between analyses of a growing capture
LATE_MARGIN = 5.0  # keep listening this long past ``within``, to tell "late" from "never"


def every(seconds: float, look: Callable[[], T | None]) -> Callable[[], T | None]:
    """``look`` at most every ``seconds``, else None: a wait pumps events every 50 ms, and a
    growing capture is worth analysing only every POLL."""
    last = [float("-inf")]

    def throttled() -> T | None:
        if time.monotonic() - last[0] < seconds:
            return None
        last[0] = time.monotonic()
        return look()

    return throttled


def idle(run: ScenarioRun, seconds: float) -> None:
    """Let ``seconds`` pass while pumping events (a dead phone still raises)."""
    end = time.monotonic() + seconds
    run.board.wait(lambda: True if time.monotonic() >= end else None, seconds + 1.0,
                   lambda: f"{seconds:.1f}s to pass")


def capture(state: CallState) -> tuple[np.ndarray, float]:
    """The call's received audio so far and the monotonic time of its first sample."""
    from harness.audio.wav import read_capture

    tl = state.timeline
    if tl.capture_path is None or tl.capture_t0 is None:
        return np.zeros(0, dtype=np.float32), time.monotonic()
    return read_capture(tl.capture_path), tl.capture_t0
