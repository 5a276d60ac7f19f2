"""A load run's thresholds, from merged per-stage statistics (no call: harness.checks.load)."""

from __future__ import annotations

import pytest

from harness.checks.load import StageFigures, figures, judge

RUN = {
    ("call", "set-up"): StageFigures(198, 0, 40.0, 180.0),
    ("call", "set-up failed"): StageFigures(2, 2, 32000.0, 32000.0),  # never answered: no set-up time
    ("flow", "menu"): StageFigures(150, 3),
    ("flow", "queue"): StageFigures(50, 1),
    ("acd", "agent answer"): StageFigures(45, 0, 12500.0, 30000.0),
    ("acd", "abandoned"): StageFigures(5, 5),
    ("recording", "found"): StageFigures(10, 1),
    ("verify", "audio"): StageFigures(20, 0),
}


def test_figures_as_a_call_centre_states_them() -> None:
    f = figures(RUN)
    assert f["setup_p95"].value == pytest.approx(0.18) and f["setup_p95"].of == 198  # answered calls
    assert f["answer_seizure_ratio"].value == pytest.approx(0.99)
    assert f["average_speed_of_answer"].value == pytest.approx(12.5)
    assert f["abandoned"].value == pytest.approx(0.1) and f["abandoned"].of == 50  # of calls queued
    assert f["failed_calls"].value == pytest.approx(4 / 200) and f["failed_calls"].of == 200  # all flows
    assert f["recordings_found"].value == pytest.approx(0.9)
    assert f["audio_verified"].value == 1.0


@pytest.mark.parametrize(("name", "limit", "passed", "text"), [
    ("setup_p95", 0.2, True, "setup_p95: 0.18s over 198 (at most 0.2s): met"),
    ("setup_p95", 0.1, False, "setup_p95: 0.18s over 198 (at most 0.1s): MISSED"),
    ("answer_seizure_ratio", 0.99, True, "answer_seizure_ratio: 99% over 200 (at least 99%): met"),
    ("answer_seizure_ratio", 0.995, False, "(at least 99.5%): MISSED"),
    ("average_speed_of_answer", 10.0, False, "12.5s over 45 (at most 10s): MISSED"),
    ("abandoned", 0.1, True, "abandoned: 10% over 50 (at most 10%): met"),
    ("abandoned", 0.05, False, "MISSED"),
    ("failed_calls", 0.0, False, "failed_calls: 2% over 200 (at most 0%): MISSED"),
    ("recordings_found", 1.0, False, "recordings_found: 90% over 10 (at least 100%): MISSED"),
    ("audio_verified", 1.0, True, "audio_verified: 100% over 20 (at least 100%): met"),
])
def test_each_threshold(name: str, limit: float, passed: bool, text: str) -> None:
    [verdict] = judge({name: limit}, figures(RUN))
    assert verdict.passed is passed
    assert text in verdict.text, verdict.text


def test_a_stage_no_call_reached_is_not_met() -> None:
    quiet = {k: v for k, v in RUN.items() if k[0] != "acd"}
    [asa, abandoned] = judge({"average_speed_of_answer": 60.0, "abandoned": 1.0}, figures(quiet))
    assert not asa.passed and "no call reached this stage" in asa.text
    assert not abandoned.passed
    nothing = judge({"failed_calls": 1.0, "setup_p95": 10.0}, figures({}))
    assert [v.passed for v in nothing] == [False, False]


def test_set_up_percentile_is_of_answered_calls_only() -> None:
    refused = {("call", "set-up failed"): StageFigures(10, 10, 5.0, 6.0)}
    [verdict, seized] = judge({"setup_p95": 1.0, "answer_seizure_ratio": 0.5}, figures(refused))
    assert not verdict.passed and "no call reached" in verdict.text
    assert not seized.passed and "0% over 10" in seized.text, seized.text


def test_quality_thresholds_read_the_calls_figures() -> None:
    from harness.checks.load import quality_figures

    calls = [{"mos_lqo": 4.4, "loss_pct": 0.0}] * 18 + [{"mos_lqo": 2.5, "loss_pct": 6.0}] * 2 + [
        {"mos_lqo": None, "loss_pct": 0.0}]  # a call off the sample: counted for loss, not for MOS
    figs = quality_figures(calls)
    assert figs["mos_min"].of == 20 and figs["loss_max"].of == 21
    [mos, loss] = judge({"mos_min": 3.5, "loss_max": 0.01}, figs)
    assert not mos.passed and mos.text == "mos_min: MOS 2.50 over 20 (at least MOS 3.50): MISSED"
    assert not loss.passed and "loss_max: 6% over 21 (at most 1%): MISSED" in loss.text
    assert all(v.passed for v in judge({"mos_min": 2.0, "loss_max": 0.1}, figs))
    [none] = judge({"mos_min": 3.0}, quality_figures([]))
    assert not none.passed and "no call reached this stage" in none.text
