"""The requirement matrix's rows from run records (no call): which steps cover which row."""

from __future__ import annotations

from typing import Any

from harness.report.evidence import requirement_matrix


def _scenario(name: str, steps: list[dict[str, Any]], item: str = "outbound") -> dict[str, Any]:
    failed = any(s["status"] == "failed" for s in steps)
    return {"licence_item": item, "anchor": name, "name": name, "verdict": "not_conformant" if failed else "passed",
            "steps": steps}


def _recording(parties: list[str], status: str = "passed") -> dict[str, Any]:
    return {"kind": "expect_recording", "spec": {"parties": parties}, "status": status,
            "measurements": {"unauthenticated_status": 401}}


def test_an_outbound_call_s_recording_covers_outbound_recording_and_retrieval() -> None:
    rows = {i.req.key: i for i in requirement_matrix([
        _scenario("inbound", [_recording(["caller", "agent"])], "recording"),
        _scenario("dial-out", [_recording(["agent", "customer"])]),
        _scenario("click-to-call", [_recording(["agent", "customer"], "failed")]),
    ])}
    assert [name for _, name, _ in rows["outbound_recording"].covered_by] == ["dial-out", "click-to-call"]
    assert rows["outbound_recording"].verdict == "not_conformant"
    assert len(rows["retrieval"].covered_by) == 3


def test_without_an_outbound_recording_the_row_is_uncovered() -> None:
    rows = {i.req.key: i for i in requirement_matrix([_scenario("inbound", [_recording(["caller", "agent"])],
                                                                "recording")])}
    assert rows["outbound_recording"].verdict == "uncovered" and rows["retrieval"].verdict == "passed"


def _campaign(unexercised: bool, status: str = "passed") -> dict[str, Any]:
    return {"kind": "expect_campaign", "spec": {"queue": "sales"}, "status": status,
            "measurements": {"message_unexercised": unexercised} if status == "passed" else {}}


def test_the_dialler_row_is_passed_only_once_an_abandoned_call_s_message_was_heard() -> None:
    def row(*steps: dict[str, Any]) -> str:
        return {i.req.key: i for i in requirement_matrix([_scenario("campaign", list(steps))])}[
            "outbound_dialer"].verdict
    assert row(_campaign(True)) == "partial"  # no call abandoned: the message rule never exercised
    assert row(_campaign(True), _campaign(False)) == "passed"
    assert row(_campaign(False), _campaign(True, "failed")) == "not_conformant"
    assert {i.req.key: i for i in requirement_matrix([])}["outbound_dialer"].verdict == "uncovered"
