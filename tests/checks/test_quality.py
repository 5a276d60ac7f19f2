"""Call quality verdicts from a call's stream counters and PESQ score (no call)."""

from __future__ import annotations

import pytest

from harness.checks.quality import MediaSeen, QualityWanted, quality_verdict

CLEAN = MediaSeen(rx_packets=500, rx_lost=0, rx_jitter_ms=0.4, rtt_ms=0.3, mos=4.4, prompt="main_menu",
                  delay_ms=41.04, delay_path="caller -> agent")
ALL = QualityWanted(mos_min=3.8, loss_max=0.01, jitter_max_ms=30.0, delay_max_ms=150.0)


def test_a_clean_call_passes_with_its_figures() -> None:
    verdict = quality_verdict(CLEAN, ALL)
    assert verdict.passed
    assert verdict.figures == {"rx_packets": 500, "rx_lost": 0, "loss_pct": 0.0, "rx_jitter_ms": 0.4,
                               "rtt_ms": 0.3, "mos_lqo": 4.4, "scored_prompt": "main_menu",
                               "one_way_delay_ms": 41.0, "delay_path": "caller -> agent",
                               "host_cpu_busy_pct": None, "phone_stall_s": None, "mos_lqo_as_played": None,
                               "phone_slips_taken_out": None}


@pytest.mark.parametrize(("seen", "words"), [
    (MediaSeen(475, 25, 0.4, None, 4.4, "main_menu"), "5.0% of the audio packets were lost (25 of 500; at most 1%"),
    (MediaSeen(500, 0, 42.0, None, 4.4, "main_menu"), "the receive jitter was 42.0 ms (at most 30 ms allowed)"),
    (MediaSeen(500, 0, 0.4, None, 2.9, "main_menu"), "prompt 'main_menu' scored MOS 2.90 as heard (PESQ"),
    (MediaSeen(500, 0, 0.4, None, 3.1, "main_menu", mos_as_played=2.8, slips_out="+20 ms at 0.52 s"),
     "scored MOS 3.10 as heard (PESQ, ITU-T P.862; at least 3.8 wanted; with the caller's phone's own "
     "jitter-buffer slips taken out (+20 ms at 0.52 s): 2.80 as it played them)"),
    (MediaSeen(500, 0, 0.4, None, None, "main_menu", "prompt 'main_menu' was not found on the call"),
     "no quality score: prompt 'main_menu' was not found on the call"),
    (MediaSeen(0, 0), "no audio arrived on the call (0 RTP packets received)"),
    (MediaSeen(500, 0, 0.4, None, 4.4, "main_menu", delay_ms=420.0, delay_path="caller -> agent"),
     "the one-way delay (caller -> agent) was 420 ms (at most 150 ms allowed; ITU-T G.114"),
    (MediaSeen(500, 0, 0.4, None, 4.4, "main_menu", why_no_delay="the agent's phone did not hear the caller's "
               "marker"), "no one-way delay measured: the agent's phone did not hear the caller's marker"),
])
def test_each_limit_fails_in_a_reviewer_s_words_and_keeps_its_figures(seen: MediaSeen, words: str) -> None:
    verdict = quality_verdict(seen, ALL)
    assert not verdict.passed and verdict.problem is not None and words in verdict.problem, verdict.problem
    assert verdict.figures["rx_packets"] == seen.rx_packets  # a load run reads them from a failure too


def test_limits_not_given_are_not_judged() -> None:
    lossy = MediaSeen(450, 50, 90.0, None, None, None)
    assert quality_verdict(lossy, QualityWanted()).passed
    assert not quality_verdict(lossy, QualityWanted(loss_max=0.05)).passed
    assert lossy.loss == pytest.approx(0.1)


BUSY = 0.35  # a third of the call with some task waiting for a CPU
ON_TIME = 41.0  # ms, one way


@pytest.mark.parametrize(("seen", "decided", "words"), [
    # a low score, a jitter on a busy host, or while a phone of ours stalled: the harness cannot vouch for it
    (MediaSeen(500, 0, 0.4, None, 3.45, "main_menu", host_busy=BUSY, delay_ms=ON_TIME), False,
     "cannot decide: prompt 'main_menu' scored MOS 3.45 as heard (PESQ, ITU-T P.862; at least 3.8 wanted), but "
     "this machine was busy during the call (some task waited for a CPU 35% of the time"),
    (MediaSeen(500, 0, 42.0, None, 4.4, "main_menu", stall_s=0.3, delay_ms=ON_TIME), False,
     "one of the harness's phones did not run for 0.30s"),
    (MediaSeen(500, 0, 0.4, None, 4.4, "main_menu", delay_ms=290.0, delay_path="caller -> agent", stall_s=0.3),
     False, "cannot decide: the one-way delay (caller -> agent) was 290 ms"),
    # ... on a quiet host, it is the platform's
    (MediaSeen(500, 0, 0.4, None, 3.45, "main_menu", host_busy=0.02, delay_ms=ON_TIME), True,
     "poor call quality: prompt 'main_menu' scored MOS 3.45"),
    # no PSI on this kernel
    (MediaSeen(500, 0, 0.4, None, 3.45, "main_menu", delay_ms=ON_TIME), True, "poor call quality"),
    # lost packets are counted on the wire: judged however busy the host
    (MediaSeen(475, 25, 0.4, None, 3.0, "main_menu", host_busy=0.9, stall_s=0.4, delay_ms=ON_TIME), True,
     "poor call quality: 5.0% of the audio packets were lost (25 of 500; at most 1% allowed); prompt 'main_menu' "
     "scored MOS 3.00"),
    # a delay longer than any stall could explain is the platform's
    (MediaSeen(500, 0, 0.4, None, 4.4, "main_menu", delay_ms=430.0, delay_path="caller -> agent", stall_s=0.25,
               host_busy=0.9), True, "poor call quality: the one-way delay (caller -> agent) was 430 ms"),
    (MediaSeen(500, 0, 0.4, None, None, "main_menu", "prompt 'main_menu' was not found on the call",
               host_busy=0.9, delay_ms=ON_TIME), True, "no quality score: prompt 'main_menu' was not found"),
])
def test_timing_judged_limits_missed_on_a_busy_host_are_undecided(seen: MediaSeen, decided: bool,
                                                                   words: str) -> None:
    verdict = quality_verdict(seen, ALL)
    assert not verdict.passed and verdict.decided is decided, verdict
    assert verdict.problem is not None and words in verdict.problem, verdict.problem


def test_a_busy_host_does_not_fail_a_call_that_met_its_limits() -> None:
    calm = MediaSeen(500, 0, 0.4, None, 4.0, "main_menu", host_busy=0.8, stall_s=0.3, delay_ms=ON_TIME)
    verdict = quality_verdict(calm, ALL)
    assert verdict.passed and verdict.figures["host_cpu_busy_pct"] == 80.0 and verdict.figures["phone_stall_s"] == 0.3
