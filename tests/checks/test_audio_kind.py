"""The expect_audio verdict on frame labels: the window rule, the figures and what a fail says."""

from __future__ import annotations

import numpy as np
import pytest

from harness.audio.kind import MUSIC, SILENCE, SPEECH, TONE
from harness.checks.audio_kind import AudioHeard, AudioWanted, audio_verdict, proportions
from tests.checks.timelines import T0, answered_call

ON_CALL = "c1 (caller-caller -> sip:4000@127.0.0.1:29800;transport=udp)"
SUMMARY = "CALLING@0.0s, EARLY(180)@0.0s, CONNECTING@0.1s, MEDIA_ACTIVE@0.1s, CONFIRMED@0.1s"


def labels(*parts: tuple[int, float]) -> np.ndarray:
    """``(kind, seconds)`` stretches, 50 frames a second."""
    return np.concatenate([np.full(round(s * 50), k, np.int8) for k, s in parts])


def heard(*parts: tuple[int, float]) -> AudioHeard:
    return AudioHeard(labels(*parts), first=4.0, capture_t0=T0 + 0.01)


MUSIC_5S = AudioWanted("music", 5.0, 2.0)
CASES = [
    ("all music", MUSIC_5S, heard((MUSIC, 6.0)), None),
    ("music from 1.5 s: starts within 2 s", MUSIC_5S, heard((SILENCE, 1.5), (MUSIC, 5.0)), None),
    ("80 % music, a spoken word over it", MUSIC_5S, heard((MUSIC, 2.0), (SPEECH, 1.0), (MUSIC, 2.0)), None),
    ("dead air", MUSIC_5S,
     heard((SILENCE, 8.0)),
     "heard 5.0 s: silence 100 %, expected music (at least 80% of the window, starting within 2.0s)"),
    ("music, but too late", MUSIC_5S,
     heard((SILENCE, 3.5), (MUSIC, 5.0)),
     "heard 5.0 s: music 70 %, silence 30 %, expected music (at least 80% of the window, starting "
     "within 2.0s) (the window 2.0s after the step began)"),
    ("ringback instead of music", MUSIC_5S,
     heard((TONE, 7.0)),
     "heard 5.0 s: tone 100 %, expected music (at least 80% of the window, starting within 2.0s)"),
    ("too short a capture", MUSIC_5S,
     heard((MUSIC, 3.0)),
     "expected music for 5.0s on call " + ON_CALL + ", but only 3.0s of audio was captured (music 100 %)"),
]


@pytest.mark.parametrize(("name", "want", "got", "problem"), CASES, ids=[c[0] for c in CASES])
def test_audio_verdict(name: str, want: AudioWanted, got: AudioHeard, problem: str | None) -> None:
    verdict = audio_verdict(want, got, answered_call())
    if problem is None:
        assert verdict.passed, verdict.problem
        assert verdict.figures["shares"]["music"] >= 0.8 and verdict.figures["min_share"] == 0.8
    else:
        assert verdict.problem is not None and verdict.problem.startswith(problem), verdict.problem
        assert verdict.problem.endswith(f"; timeline: {SUMMARY}")


def test_a_pass_is_the_first_window_that_holds_the_kind() -> None:
    verdict = audio_verdict(MUSIC_5S, heard((SILENCE, 1.0), (MUSIC, 5.0)), answered_call())
    assert verdict.figures == {"kind": "music", "seconds": 5.0, "from_s": 4.01, "after_s": 0.0,
                               "shares": {"music": 0.8, "tone": 0.0, "speech": 0.0, "silence": 0.2},
                               "min_share": 0.8}


def test_proportions_largest_first_and_rounded() -> None:
    assert proportions({"music": 0.25, "tone": 0.0, "speech": 0.004, "silence": 0.746}) == "silence 75 %, music 25 %"
    assert proportions({"music": 0.0, "tone": 0.0, "speech": 0.0, "silence": 0.0}) == "nothing"
