"""The agent-offer verdicts: what the agent's INVITE carries, and how soon after the key press it came.

Headers are built as an agent phone records them (``harness.sip.trace.message_headers``:
names as sent, in order); the reference platform's offer is shaped as a real run records it.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.offer import (
    HeaderRule,
    Offer,
    canonical,
    offer_headers_verdict,
    queue_entered_verdict,
    uri_users,
    values,
)

T0 = 1000.0
# The reference platform's offer to agent 2001 for caller 1001 in the sales queue (a real run).
REFERENCE = (
    ("Via", "SIP/2.0/UDP 127.0.0.1:5160;branch=z9hG4bK4e1c.1"),
    ("Record-Route", "<sip:127.0.0.1:5160;lr;cc=0f3a>"),
    ("From", '"1001" <sip:1001@127.0.0.1>;tag=7cd1a'),
    ("To", "<sip:2001@127.0.0.1>"),
    ("Call-ID", "a84b4c76e66710"),
    ("CSeq", "1 INVITE"),
    ("P-Asserted-Identity", "<sip:1001@127.0.0.1>"),
    ("X-Queue", "sales"),
)
COMPACT = (("f", "<sip:1001@127.0.0.1>;tag=1"), ("t", "<sip:2001@127.0.0.1>"), ("i", "x@y"),
           ("p-asserted-identity", '"Alice" <tel:+861012345678>'), ("x-queue", "sales"))
WORKER = (("From", "<sip:worker1@127.0.0.1>;tag=9"), ("To", "<sip:2001@127.0.0.1>"))


def offer(headers: tuple[tuple[str, str], ...], at: float = 0.4, leg: str = "agent1/in1") -> Offer:
    return Offer(leg, leg.split("/")[0], T0 + at, headers)


def test_header_names_compare_as_sip_compares_them() -> None:
    assert [canonical(n) for n in ("From", "f", "F", " t ", "i", "m", "X-Queue")] == [
        "from", "from", "from", "to", "call-id", "contact", "x-queue"]
    assert values(COMPACT, "From") == ["<sip:1001@127.0.0.1>;tag=1"]
    assert values(COMPACT, "X-QUEUE") == ["sales"]
    assert values(REFERENCE, "x-recording-name") == []


def test_uri_users_of_sip_sips_and_tel_uris() -> None:
    assert uri_users('"1001" <sip:1001@127.0.0.1>;tag=7') == ["1001"]
    assert uri_users("<sips:+8610@pbx;user=phone>, <tel:+861012345678;phone-context=x>") == ["+8610", "+861012345678"]
    assert uri_users("Anonymous <sip:anonymous.invalid>") == []


USER = "user"
RULE_CASES: list[tuple[str, tuple[tuple[str, str], ...], HeaderRule, str | None]] = [
    ("From user is the caller", REFERENCE, HeaderRule("From", "1001", USER), None),
    ("compact f: counts as From", COMPACT, HeaderRule("From", "1001", USER), None),
    ("the user must match whole", REFERENCE, HeaderRule("From", "100", USER),
     "From user: expected to be '100', came '1001'"),
    ("PAI tel: number", COMPACT, HeaderRule("P-Asserted-Identity", r"(\+86)?1012345678", USER), None),
    ("PAI missing", WORKER, HeaderRule("P-Asserted-Identity", "1001", USER),
     "P-Asserted-Identity user: expected to be '1001', came absent"),
    ("From of the media worker", WORKER, HeaderRule("From", "1001", USER),
     "From user: expected to be '1001', came 'worker1'"),
    ("a From without a URI", (("From", "garbage"),), HeaderRule("From", "1001", USER),
     "From user: expected to be '1001', came no URI in 'garbage'"),
    ("X-Queue searched, any case of the name", COMPACT, HeaderRule("X-Queue", "^sales$"), None),
    ("X-Queue absent", WORKER, HeaderRule("X-Queue", "^sales$"), "X-Queue: expected to match '^sales$', came absent"),
    ("X-Queue another queue", (("X-Queue", "support"),), HeaderRule("X-Queue", "^sales$"),
     "X-Queue: expected to match '^sales$', came 'support'"),
    ("one of two values matches", (("X-Queue", "vip"), ("x-queue", "sales")), HeaderRule("X-Queue", "sales"), None),
    ("must be absent and is", REFERENCE, HeaderRule("X-Debug", None), None),
    ("must be absent and came", (("X-Debug", "on"),), HeaderRule("x-debug", None),
     "x-debug: expected absent, came 'on'"),
]


@pytest.mark.parametrize(("headers", "rule", "problem"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_each_expectation_on_the_offer(headers: tuple[tuple[str, str], ...], rule: HeaderRule,
                                       problem: str | None) -> None:
    verdict = offer_headers_verdict(offer(headers), [rule], T0)
    assert verdict.problem == (None if problem is None else
                               f"the offer to agent1 (agent1/in1) does not carry what was expected: {problem}")
    assert verdict.figures["headers"] == [f"{n}: {v}" for n, v in headers]


def test_a_pass_shows_every_header_seen_and_what_was_checked() -> None:
    verdict = offer_headers_verdict(offer(REFERENCE), [HeaderRule("From", "1001", USER),
                                                       HeaderRule("X-Queue", "^sales$")], T0)
    assert verdict.figures == {
        "agent": "agent1", "leg": "agent1/in1", "offered_after_s": 0.4, "checked": ["From user", "X-Queue"],
        "headers": [f"{n}: {v}" for n, v in REFERENCE]}


def test_every_miss_is_named_at_once() -> None:
    verdict = offer_headers_verdict(offer(WORKER), [HeaderRule("From", "1001", USER),
                                                    HeaderRule("P-Asserted-Identity", "1001", USER),
                                                    HeaderRule("X-Queue", "^sales$")], T0)
    assert verdict.problem is not None
    assert verdict.problem == (
        "the offer to agent1 (agent1/in1) does not carry what was expected: From user: expected to be '1001', "
        "came 'worker1'; P-Asserted-Identity user: expected to be '1001', came absent; X-Queue: expected to "
        "match '^sales$', came absent")
    assert verdict.figures["headers"] == ["From: <sip:worker1@127.0.0.1>;tag=9", "To: <sip:2001@127.0.0.1>"]


KEY = T0 + 5.0  # the key press
QUEUE_CASES: list[tuple[str, list[Offer], dict[str, Any], str | dict[str, Any]]] = [
    ("offered 0.6 s after the key, queue named", [offer(REFERENCE, 5.6)], {"queue": "sales"},
     {"from": "the key press", "delay_s": 0.6, "within_s": 5.0, "agent": "agent1", "leg": "agent1/in1",
      "queue_expected": "sales", "queue_named": "sales", "queue_header": "X-Queue"}),
    ("the queue compared without regard to case", [offer((("x-queue", "Sales"),), 5.6)], {"queue": "sales"},
     {"from": "the key press", "delay_s": 0.6, "within_s": 5.0, "agent": "agent1", "leg": "agent1/in1",
      "queue_expected": "sales", "queue_named": "Sales", "queue_header": "X-Queue"}),
    ("no queue header: the queue is not judged", [offer(WORKER, 6.0)], {"queue": "sales"},
     {"from": "the key press", "delay_s": 1.0, "within_s": 5.0, "agent": "agent1", "leg": "agent1/in1",
      "queue_expected": "sales", "queue_named": None, "queue_header": "X-Queue"}),
    ("the wrong queue", [offer((("X-Queue", "support"),), 5.5)], {"queue": "sales"},
     "the call was offered to agent1 (agent1/in1) from queue 'support' (X-Queue on its INVITE), expected 'sales'"),
    ("another header names the queue", [offer((("X-CC-Queue", "support"),), 5.5)],
     {"queue": "sales", "queue_header": "X-CC-Queue"},
     "the call was offered to agent1 (agent1/in1) from queue 'support' (X-CC-Queue on its INVITE), expected 'sales'"),
    ("no offer at all", [], {}, "no agent was offered the call within 5s of the key press"),
    ("the ACD waited 8 s", [offer(REFERENCE, 13.2, "agent2/in1")], {},
     "no agent was offered the call within 5s of the key press; the first came 8.2 s after it (agent2/in1)"),
    ("an offer before the key press does not count", [offer(REFERENCE, 4.0)], {},
     "no agent was offered the call within 5s of the key press; offered before it: agent1/in1"),
    ("the first of two offers counts", [offer(REFERENCE, 9.0, "agent2/in1"), offer(REFERENCE, 5.3)], {},
     {"from": "the key press", "delay_s": 0.3, "within_s": 5.0, "agent": "agent1", "leg": "agent1/in1",
      "queue_expected": None, "queue_named": "sales", "queue_header": "X-Queue"}),
]


@pytest.mark.parametrize(("offers", "options", "expected"), [c[1:] for c in QUEUE_CASES],
                         ids=[c[0] for c in QUEUE_CASES])
def test_queue_entered(offers: list[Offer], options: dict[str, Any], expected: str | dict[str, Any]) -> None:
    verdict = queue_entered_verdict(KEY, "the key press", offers, 5.0, **options)
    if isinstance(expected, str):
        assert verdict.problem == expected
    else:
        assert (verdict.problem, verdict.figures) == (None, expected)


def test_measured_from_the_answer() -> None:
    verdict = queue_entered_verdict(T0 + 0.1, "the answer", [offer(REFERENCE, 6.0)], 5.0)
    assert verdict.problem == ("no agent was offered the call within 5s of the answer; "
                               "the first came 5.9 s after it (agent1/in1)")
