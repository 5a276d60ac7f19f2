"""Abandoned and silent campaign calls, judged from what the customers heard (no call)."""

from __future__ import annotations

import pytest

from harness.checks.dialer import CampaignWanted, CustomerSeen, abandoned, campaign_verdict

AGENT = CustomerSeen("13600130001", "carrier/in1", True, agent_s=0.6, heard="tone", lasted_s=2.0,
                     ended_by="customer")
MESSAGE = CustomerSeen("13600130002", "carrier/in2", True, sound_s=0.3, heard="speech", lasted_s=6.2,
                       ended_by="platform")
SILENT = CustomerSeen("13600130003", "carrier/in3", True, heard="silence", lasted_s=4.1, ended_by="platform")
LATE_MESSAGE = CustomerSeen("13600130004", "carrier/in4", True, sound_s=3.2, heard="speech", lasted_s=8.0,
                            ended_by="platform")
LATE_AGENT = CustomerSeen("13600130005", "carrier/in5", True, agent_s=2.6, sound_s=None, heard="silence",
                          lasted_s=5.0, ended_by="customer")
RATE = CampaignWanted(abandoned_max=0.03)


def test_a_call_put_through_within_two_seconds_is_not_abandoned() -> None:
    assert not abandoned(AGENT, CampaignWanted())
    assert abandoned(LATE_AGENT, CampaignWanted()) and abandoned(SILENT, CampaignWanted())
    assert not abandoned(CustomerSeen("1", "carrier/in9", False), CampaignWanted())  # never answered


def test_a_campaign_put_through_whole_passes_and_says_the_message_was_not_exercised() -> None:
    verdict = campaign_verdict([AGENT, AGENT], 2, RATE)
    assert verdict.passed
    assert verdict.figures["abandoned_pct"] == 0.0 and verdict.figures["message_unexercised"] is True


def test_an_abandoned_call_with_its_message_in_time_passes_the_message_rule() -> None:
    verdict = campaign_verdict([MESSAGE, MESSAGE], 2, CampaignWanted())
    assert verdict.passed and verdict.figures["abandoned"] == 2 and not verdict.figures["message_unexercised"]


@pytest.mark.parametrize(("calls", "words"), [
    ([AGENT, SILENT], "the customer at 13600130003 (carrier/in3) answered, no agent came on, and heard silence "
                      "for 4.1s until the hang-up: a silent abandoned call (an information message must begin "
                      "within 2s of the answer; 47 CFR 64.1200(a)(7)"),
    ([LATE_MESSAGE], "the information message began 3.2s after the answer (within 2s wanted"),
    ([LATE_AGENT], "the agent came on only 2.6s after, and heard silence"),
])
def test_a_silent_or_late_abandoned_call_fails_in_a_reviewer_s_words(calls: list[CustomerSeen], words: str) -> None:
    verdict = campaign_verdict(calls, len(calls), CampaignWanted())
    assert verdict.problem is not None and words in verdict.problem, verdict.problem


def test_too_many_abandoned_calls_miss_the_rate_even_with_their_messages() -> None:
    verdict = campaign_verdict([AGENT, MESSAGE, AGENT, AGENT], 4, RATE)
    assert verdict.problem == ("1 of the 4 answered calls (25.0%) were abandoned -- no agent on the line within "
                               "2s of the customer's answer; at most 3% allowed (47 CFR 64.1200(a)(7); Ofcom "
                               "persistent-misuse policy)")
    assert campaign_verdict([AGENT, MESSAGE, AGENT, AGENT], 4, CampaignWanted(abandoned_max=0.3)).passed


def test_a_dialler_that_places_nothing_or_not_everything_fails() -> None:
    nothing = campaign_verdict([CustomerSeen("1", "carrier/in1", False)], 3, RATE)
    assert nothing.problem is not None and "put none of the campaign's 3 calls through" in nothing.problem
    short = campaign_verdict([AGENT], 3, RATE)
    assert short.problem == "the dialler placed 1 of the campaign's 3 calls"
