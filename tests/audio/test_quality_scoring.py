"""expect_quality scores a prompt only once the capture holds all of it.

The capture is a caller's, from a load run under ``stress --cpu 2`` (session 20, run 2 at
03ec4f8): expect_prompt heard main_menu (its jitter buffer had slipped), and expect_quality,
right after, read the file before the phone had written the prompt's last 0.2 s. Located
in that shorter capture, the prompt was "not found (best score 0.17)", and the call failed
as the platform's fault.
"""

from __future__ import annotations

from pathlib import Path

from harness.audio.prompt import match_prompt
from harness.audio.quality import mos_lqo
from harness.audio.wav import read_wav
from harness.steps.expect_quality import MATCHED, holds

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
CAPTURE = HERE.parent / "data" / "captures" / "welcome-main-menu-stressed-load-call.wav"
MAIN_MENU = PROJECT / "fixtures" / "reference" / "prompts" / "main_menu.wav"
RATE = 8000
READ_AT_S = 15.3  # what the file held when expect_quality read it (its failure's 0.17 is this)


def test_a_capture_read_before_the_prompt_s_end_is_not_scored_yet() -> None:
    samples, _ = read_wav(CAPTURE)
    reference, _ = read_wav(MAIN_MENU)
    early = samples[: int(READ_AT_S * RATE)]
    found = match_prompt(early, reference)
    assert found is not None and found.score < MATCHED  # what failed the call
    assert not holds(early, found, len(reference))  # so the step waits for the rest


def test_the_whole_capture_holds_the_prompt_and_scores_it() -> None:
    samples, _ = read_wav(CAPTURE)
    reference, _ = read_wav(MAIN_MENU)
    found = match_prompt(samples, reference)
    assert found is not None and holds(samples, found, len(reference))
    assert abs(found.start_s - 6.485) < 0.05, found  # after the 6.5 s welcome
    start = int(found.start_s * RATE)
    assert 1.0 < mos_lqo(reference, samples[start: start + len(reference)]) < 4.5  # scored, not refused


def test_a_match_that_ends_past_the_capture_is_not_whole() -> None:
    samples, _ = read_wav(CAPTURE)
    reference, _ = read_wav(MAIN_MENU)
    found = match_prompt(samples, reference)
    assert found is not None
    end = int(found.start_s * RATE) + len(reference)
    assert holds(samples[:end], found, len(reference))
    assert not holds(samples[: end - 1], found, len(reference))
