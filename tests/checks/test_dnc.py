"""Do-not-call and refusals: the verdict on what reached the carrier (no call)."""

from __future__ import annotations

import pytest

from harness.checks.dnc import DncAttempt, DncSeen, dnc_verdict, undecided

pytestmark = pytest.mark.unit

LISTED_REFUSED = DncAttempt("listed", "13900000000", False, "403 Number on the do-not-call list")
REFUSING = DncAttempt("refusing", "13800131513", True, "the call went out")
AGAIN_REFUSED = DncAttempt("again", "13800131513", False, "200 Normal call clearing", 0.4)


def test_a_platform_that_keeps_its_list_and_its_refusals_passes_with_each_call() -> None:
    verdict = dnc_verdict(DncSeen((LISTED_REFUSED, REFUSING, AGAIN_REFUSED), "pressed 9", 180.0, "第三条"))
    assert verdict.passed, verdict.problem
    assert [a["purpose"] for a in verdict.figures["attempts"]] == ["listed", "refusing", "again"]
    assert (verdict.figures["refusal"], verdict.figures["period_days"]) == ("pressed 9", 180.0)


@pytest.mark.parametrize(("attempts", "words"), [
    ((DncAttempt("listed", "13900000000", True, "the call went out"),),
     "a call to 13900000000, a number on the platform's do-not-call list, reached the carrier"),
    ((REFUSING, DncAttempt("again", "13800131513", True, "the call went out", 0.4)),
     "a call to 13800131513 reached the carrier again 0.4s after the customer refused further calls "
     "(pressed 9); a refusal holds 180 days"),
])
def test_each_call_that_should_not_have_gone_out_fails_citing_the_undertaking(
        attempts: tuple[DncAttempt, ...], words: str) -> None:
    verdict = dnc_verdict(DncSeen(attempts, "pressed 9", 180.0, "第三条"))
    assert verdict.problem is not None and words in verdict.problem, verdict.problem
    assert verdict.problem.endswith("(undertaking: 第三条)")


def test_a_refusal_that_could_not_be_made_is_undecided_not_a_verdict_on_the_platform() -> None:
    seen = DncSeen((DncAttempt("refusing", "13800131513", False, "nothing reached the carrier within 10s"),))
    why = undecided(seen)
    assert why is not None and why.startswith("cannot decide: the call to 13800131513 that the customer was "
                                              "to refuse never reached the carrier"), why
    assert undecided(DncSeen((LISTED_REFUSED,))) is None
    # it went out but was never answered: no refusal was made, so nothing about refusals is shown
    unanswered = DncSeen((DncAttempt("refusing", "13800131513", True, "the carrier never answered"),))
    assert undecided(unanswered) == ("cannot decide: the call to 13800131513 reached the carrier, but the "
                                     "customer could not refuse it (the carrier never answered)")
