"""checks/outbound.py: the number dialled and the caller ID presented, from the carrier's records alone."""

from __future__ import annotations

import pytest

from harness.checks.outbound import (
    CallerIdRule,
    CarrierCall,
    answer_problem,
    arrival_verdict,
    caller_id_verdict,
    presented,
    uri_user,
    withheld,
)

pytestmark = pytest.mark.unit

REGISTERED = "01062345678"
EXTENSIONS = {"2001": "agent agent1", "2002": "agent agent2"}


def call(*headers: tuple[str, str], number: str = "13800138000", offered: float = 1.0,
         leg: str = "carrier/in1", answered: float | None = 1.5, status: int | None = None) -> CarrierCall:
    return CarrierCall(leg, number, f"sip:{number}@127.0.0.1:5190", tuple(headers), offered, 1.7e9 + offered,
                       answered, status)


SHOWN = (("From", f"<sip:{REGISTERED}@pbx.example>;tag=a"), ("P-Asserted-Identity", f"<sip:{REGISTERED}@pbx.example>"))


@pytest.mark.parametrize("uri, user", [("sip:913800138000@127.0.0.1:5160", "913800138000"),
                                       ("sip:13800138000@gw;user=phone", "13800138000"),
                                       ("tel:+8613800138000", "+8613800138000"), ("sip:127.0.0.1", "")])
def test_the_number_dialled_is_the_request_uris_user(uri: str, user: str) -> None:
    assert uri_user(uri) == user


@pytest.mark.parametrize("headers, why", [
    (SHOWN, None),
    (SHOWN + (("Privacy", "id"),), "Privacy: id asks the network to withhold the caller's identity"),
    ((("From", '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x'),), "From is anonymous"),
    ((("f", "<sip:anonymous@pbx.example>;tag=x"),), "From is anonymous"),
    ((("From", f"<sip:{REGISTERED}@pbx>;tag=x"), ("Remote-Party-ID", f"<sip:{REGISTERED}@pbx>;privacy=full")),
     "Remote-Party-ID asks for privacy"),
    (SHOWN + (("Privacy", "none"),), None),
    ((("To", "<sip:x@y>"),), "no number is presented"),
])
def test_a_withheld_caller_id_is_told_how(headers: tuple[tuple[str, str], ...], why: str | None) -> None:
    found = withheld(presented(headers), headers)
    assert (found is None) if why is None else (found is not None and why in found), found


@pytest.mark.parametrize("headers, earlier, problem", [
    (SHOWN, (), None),
    (SHOWN, (("carrier/in0", REGISTERED),), None),
    (SHOWN + (("Privacy", "id"),), (), "the caller ID is withheld: Privacy: id"),
    ((("From", "<sip:2001@pbx>;tag=a"), ("P-Asserted-Identity", "<sip:2001@pbx>")), (),
     "From presents 2001, the extension of agent agent1, not the company's registered number 01062345678; "
     "P-Asserted-Identity presents 2001, the extension of agent agent1"),
    ((("From", f"<sip:{REGISTERED}@pbx>;tag=a"), ("P-Asserted-Identity", "<tel:01099998888>")), (),
     "P-Asserted-Identity presents 01099998888, not the registered number 01062345678"),
    ((("From", "<sip:01099998888@pbx>;tag=a"),), (("carrier/in0", "01077776666"),),
     "the number presented changed between calls: 01099998888 on carrier/in1, 01077776666 on carrier/in0"),
])
def test_the_caller_id_must_be_the_registered_number(headers: tuple[tuple[str, str], ...],
                                                     earlier: tuple[tuple[str, str], ...],
                                                     problem: str | None) -> None:
    verdict = caller_id_verdict(call(*headers), CallerIdRule(REGISTERED, EXTENSIONS, earlier))
    if problem is None:
        assert verdict.passed and verdict.figures["presented"] == REGISTERED, verdict
    else:
        assert verdict.problem is not None and problem in verdict.problem, verdict.problem
        assert verdict.problem.startswith("the outbound call carrier/in1 to 13800138000 does not show")
    assert "工信部信管〔2020〕81号" in verdict.figures["rule"]


def test_shown_only_asks_for_a_number_that_is_no_extension() -> None:
    rule = CallerIdRule(None, EXTENSIONS)
    assert caller_id_verdict(call(("From", "<sip:01099998888@pbx>;tag=a")), rule).passed
    assert not caller_id_verdict(call(("From", "<sip:2002@pbx>;tag=a")), rule).passed


def test_a_call_that_arrives_in_time_passes_with_what_the_carrier_saw() -> None:
    verdict = arrival_verdict([call(*SHOWN, offered=1.4)], "13800138000", 1.0, 10.0, "agent1's call")
    assert verdict.passed
    assert verdict.figures["offered_after_s"] == 0.4 and verdict.figures["number"] == "13800138000"
    assert verdict.figures["pai"] == [f"<sip:{REGISTERED}@pbx.example>"]


@pytest.mark.parametrize("calls, problem", [
    ([], "agent1's call did not reach the carrier for 13800138000 within 10s; the carrier was offered no call at all"),
    ([call(number="913800138000")],
     "within 10s; the carrier was called for 913800138000 instead"),
    ([call(offered=14.0)], "within 10s; it came 13.0 s after"),
    ([call(offered=0.5)], "the carrier was offered no call at all"),  # before the attempt: another's
])
def test_a_call_that_does_not_arrive_says_what_came_instead(calls: list[CarrierCall], problem: str) -> None:
    verdict = arrival_verdict(calls, "13800138000", 1.0, 10.0, "agent1's call")
    assert verdict.problem is not None and problem in verdict.problem, verdict.problem


@pytest.mark.parametrize("answered, asked, problem", [
    (1.5, True, None), (None, False, None), (1.5, None, None),
    (None, True, "was not answered (it was still ringing)"),
    (1.5, False, "was answered, expected it not to be"),
])
def test_answered_or_not_as_asked(answered: float | None, asked: bool | None, problem: str | None) -> None:
    found = answer_problem(call(answered=answered), asked)
    assert found == problem or (problem is not None and found is not None and problem in found), found


def test_a_rejected_call_says_its_status() -> None:
    assert answer_problem(call(answered=None, status=486), True) == \
        "the carrier's call carrier/in1 was not answered (it ended with 486)"
