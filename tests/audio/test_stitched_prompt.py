"""Prompts stitched from several files, heard with other pauses, through a call."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from harness.audio import g711, impair
from harness.audio.pcm import RATE, FloatArray
from harness.audio.prompt import MIN_COVERAGE, PromptMatch, find_prompt, match_prompt
from harness.audio.segments import split_at_pauses
from harness.audio.tone import silence
from harness.audio.wav import read_wav

from .stitched import REFERENCE_DIR, load_phrases, make_case

START_S = 0.737  # off the 20 ms packet grid
MENU = ("greeting", "digit_one", "agent_hello")


def _menu(prompts: dict[str, FloatArray], names: tuple[str, ...], gaps: list[float]) -> FloatArray:
    return impair.stitch([prompts[n] for n in names], gaps)


def _call(played: FloatArray, rng: np.random.Generator, loss: float = 0.03) -> FloatArray:
    """``played`` as a caller hears it: µ-law, ``loss`` of the packets concealed."""
    capture = np.concatenate((silence(START_S), g711.ulaw_roundtrip(played), silence(1.0)))
    return impair.conceal_lost_packets(capture, loss, rng)


def test_stitched_prompt_with_other_gaps_and_loss_matches(
    prompts: dict[str, FloatArray], rng: np.random.Generator
) -> None:
    reference = _menu(prompts, MENU, [0.25, 0.20])
    heard = _call(_menu(prompts, MENU, [0.02, 0.30]), rng)
    found = find_prompt(heard, reference)
    assert found is not None, match_prompt(heard, reference)
    assert found.score >= 0.9 and found.coverage >= 0.95, found
    assert found.start_s == pytest.approx(START_S, abs=0.020)
    played_s = (sum(prompts[n].size for n in MENU) / RATE) + 0.32
    assert found.end_s == pytest.approx(START_S + played_s, abs=0.030)


def test_digit_swapped_near_duplicate_is_rejected(
    prompts: dict[str, FloatArray], rng: np.random.Generator
) -> None:
    reference = _menu(prompts, MENU, [0.25, 0.20])
    swapped = ("greeting", "digit_two", "agent_hello")
    heard = _call(_menu(prompts, swapped, [0.25, 0.20]), rng, loss=0.01)
    assert find_prompt(heard, reference) is None
    assert match_prompt(heard, reference).coverage < 0.8


@pytest.mark.parametrize("seed", range(6))
def test_generated_stitched_cases_match_and_their_near_duplicates_do_not(seed: int) -> None:
    case = make_case(np.random.default_rng([77, seed]), load_phrases(), loss=0.03)
    right = match_prompt(case.heard, case.reference)
    assert right.score >= 0.85 and right.coverage >= MIN_COVERAGE, (case.impairments, right)
    assert right.start_s == pytest.approx(case.start_s, abs=0.020)
    duplicate = match_prompt(case.near_duplicate, case.reference)
    assert duplicate.coverage < 0.8, (case.phrases, case.impairments, duplicate)


def test_the_reference_is_cut_where_its_files_join(prompts: dict[str, FloatArray]) -> None:
    reference = _menu(prompts, ("digit_one", "digit_two"), [0.15])
    joins = [s.end for s in split_at_pauses(reference.astype(np.float64), RATE)]
    assert prompts["digit_one"].size in range(joins[1] - 80, joins[1] + 160), joins


def test_a_match_still_reports_score_and_coverage() -> None:
    # expect_prompt's failure message and measurements read these fields
    names = [f.name for f in fields(PromptMatch)]
    assert names == ["score", "start_s", "end_s", "rigid_score", "coverage"]


def test_a_prompt_that_shares_most_of_its_words_is_not_heard(prompts: dict[str, FloatArray]) -> None:
    # "...欢迎致电参考呼叫中心。Welcome to the reference call centre." against "...测试... test..."
    welcome = read_wav(REFERENCE_DIR / "welcome.wav")[0]
    found = match_prompt(np.concatenate((silence(1.0), welcome, silence(1.0))), prompts["greeting"])
    assert found.coverage < 0.5 and found.score < 0.7, found
