"""ACD leg attribution on leg histories written down, no calls.

The real-call proof (a leg left up from an earlier call is not taken for the
next one) is tests/runner/test_agent_attribution.py; these pin each rule,
including the case a real PBX showed: a confirmed leg offered 1.8 s before
the caller dialled was taken while the real offer was still ringing.
"""

from __future__ import annotations

import math

import pytest

from harness.checks.attribution import LegSeen, attribute, call_id_tags

START = 100.0
ME, OTHER = "me@caller", "other@caller"


def leg(name: str, offered: float, answered: float | None = None, tags: tuple[str, ...] = (),
        taken_by: str | None = None) -> LegSeen:
    """A leg of agent ``name`` offered ``offered`` s after START (answered likewise)."""
    return LegSeen(name, name.split("/")[0], START + offered,
                   None if answered is None else START + answered, tags, taken_by)


CASES = {
    "the real PBX: a stale confirmed leg from before the call, the real offer answers later": (
        [leg("agent1/in1", -1.8, -1.5), leg("agent2/in2", 0.4, 3.0)], math.inf, "agent2/in2",
        {"agent1/in1": "offered 1.8 s before the call began",
         "agent2/in2": "attributed: first answered after offer (offered +0.4 s, answered +3.0 s)"}),
    "no negative offset at all, however small": (
        [leg("agent1/in1", -0.02, 0.5)], math.inf, None,
        {"agent1/in1": "offered 0.02 s before the call began"}),
    "offered at the very start counts": (
        [leg("agent1/in1", 0.0, 0.5)], math.inf, "agent1/in1",
        {"agent1/in1": "attributed: first answered after offer (offered +0.00 s, "
                       "answered +0.5 s)"}),
    "a leg attributed to another call is never taken again": (
        [leg("agent1/in1", 0.2, 0.4, taken_by="c1"), leg("agent2/in2", 0.3, 0.9)], math.inf,
        "agent2/in2", {"agent1/in1": "already attributed to c1",
                       "agent2/in2": "attributed: first answered after offer (offered +0.3 s, "
                                     "answered +0.9 s)"}),
    "ringall answered by two: the first to answer is the call's": (
        [leg("agent2/in1", 0.1, 0.8), leg("agent3/in1", 0.1, 0.6)], math.inf, "agent3/in1",
        {"agent2/in1": "answered +0.8 s, after agent3/in1 had answered",
         "agent3/in1": "attributed: first answered after offer (offered +0.1 s, answered +0.6 s)"}),
    "ring-no-answer failover: the unanswered offer is shown, the next answers": (
        [leg("agent1/in1", 0.2), leg("agent2/in1", 4.3, 4.6)], math.inf, "agent2/in1",
        {"agent1/in1": "offered +0.2 s, not answered",
         "agent2/in1": "attributed: first answered after offer (offered +4.3 s, answered +4.6 s)"}),
    "a leg tagged for another call is never this call's, even answered first": (
        [leg("agent1/in1", 0.2, 0.3, tags=(OTHER,)), leg("agent2/in1", 0.3, 0.9, tags=(ME,))],
        math.inf, "agent2/in1",
        {"agent1/in1": f"tagged for another call (Call-ID {OTHER})",
         "agent2/in1": "attributed: first answered after offer (offered +0.3 s, answered +0.9 s)"}),
    "once the platform tags this call's offers, an untagged leg does not count": (
        [leg("agent1/in1", 0.2, 0.3), leg("agent2/in1", 0.3, 0.9, tags=(ME,))], math.inf,
        "agent2/in1",
        {"agent1/in1": "untagged, while the platform tagged this call's offers",
         "agent2/in1": "attributed: first answered after offer (offered +0.3 s, answered +0.9 s)"}),
    "offered after the call ended": (
        [leg("agent1/in1", 6.0, 6.2)], START + 5.0, None,
        {"agent1/in1": "offered 1.0 s after the call ended"}),
    "nothing seen": ([], math.inf, None, {}),
}


@pytest.mark.parametrize("legs, end, chosen, reasons", list(CASES.values()), ids=list(CASES))
def test_attribution(legs: list[LegSeen], end: float, chosen: str | None,
                     reasons: dict[str, str]) -> None:
    verdict = attribute(START, ME, legs, end)
    assert (verdict.chosen.name if verdict.chosen else None) == chosen
    assert verdict.evidence() == reasons


def test_candidates_are_the_legs_offered_in_the_call_and_not_elsewhere() -> None:
    legs = [leg("agent1/in1", -1.8, -1.5), leg("agent2/in2", 0.4), leg("agent3/in2", 0.4, 1.0),
            leg("agent4/in1", 0.5, 0.6, taken_by="c1")]
    assert [c.name for c in attribute(START, ME, legs).candidates] == ["agent2/in2", "agent3/in2"]


def test_describe_lists_every_leg_in_offer_order() -> None:
    verdict = attribute(START, ME, [leg("agent2/in2", 0.4), leg("agent1/in1", -1.8, -1.5)])
    assert verdict.describe() == ("agent1/in1: offered 1.8 s before the call began; "
                                  "agent2/in2: offered +0.4 s, not answered")
    assert attribute(START, ME, []).describe() == "none"


TAGS = {
    "a Call-ID header counts whatever it names": ({"X-Caller-Call-ID": " abc@h "}, (), ("abc@h",)),
    "spelt CallId too": ({"X-Original-CallId": "abc@h"}, (), ("abc@h",)),
    "another X- header counts only when it names a known call": (
        {"X-CC-Origin": "abc@h", "X-CC-Queue": "support"}, ("abc@h",), ("abc@h",)),
    "unrelated X- headers are no tag": ({"X-CC-Queue": "support", "X-Agent": "2001"}, (), ()),
    "empty values are no tag": ({"X-Call-ID": ""}, (), ()),
}


@pytest.mark.parametrize("headers, known, tags", list(TAGS.values()), ids=list(TAGS))
def test_call_id_tags(headers: dict[str, str], known: tuple[str, ...],
                      tags: tuple[str, ...]) -> None:
    assert call_id_tags(headers, known) == tags
