"""The doctor's pure part: which recording_name template names a call's recording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.doctor.naming import CallSeen, suggest, undecided

START = datetime(2026, 11, 27, 13, 45, 1, tzinfo=UTC)
CID = "tOOps6.kq1jzO3e-aktljh"  # a pjsua2 Call-ID: letters, digits, '.' and '-'
SIP_CID = "a84b4c76e66710@pc33.Example.com"
EPOCH = int(START.timestamp())
OTHERS = ("rec-someoneelse", "rec-1234.5678")


@pytest.mark.parametrize(("call_id", "name", "identities", "profile", "template"), [
    # ${FILTER(0-9A-Za-z,${CHANNEL(pjsip,call-id)})}
    (CID, "rec-tOOps6kq1jzO3eaktljh", {}, None, "rec-{call_id|alnum}"),
    (CID, f"rec-{CID}", {}, None, "rec-{call_id}"),
    (SIP_CID, "rec-a84b4c76e66710_pc33.Example.com", {}, None, "rec-{call_id|replace:@:_}"),
    (SIP_CID, "a84b4c76e66710_pc33_example_com.wav49", {}, None,
     "{call_id|replace:@:_|replace:.:_|lower}.wav49"),
    (CID, "TOOPS6KQ1JZO3EAKTLJH-1001", {"caller": "1001"}, None,
     "{call_id|alnum|upper}-{caller}"),
    (CID, f"q-{CID.encode().hex()}", {}, None, "q-{call_id|hex}"),
    # the channel's uniqueid, and nothing of the call's identities: the only name of its time
    (CID, f"1001-{EPOCH}.42", {"caller": "1001"}, None, "{caller}-{uniqueid}"),
    (CID, f"sales-{START:%Y%m%d-%H%M%S}", {"header:X-Queue": "sales"}, None,
     "{header:X-Queue}-{start:%Y%m%d-%H%M%S}"),
    # the profile's template names it: kept, though a simpler one would do
    (CID, f"rec-{CID}", {}, "rec-{call_id|replace:@:_}", "rec-{call_id|replace:@:_}"),
    # nothing of the call in any name
    (CID, "recording-0001", {"caller": "1001"}, None, None),
])
def test_the_template_that_names_the_call(call_id: str, name: str, identities: dict[str, str],
                                          profile: str | None, template: str | None) -> None:
    naming = suggest([CallSeen(call_id, START, (*OTHERS, name), identities)], profile)
    assert naming.template == template, naming
    if template is not None:
        assert naming.recordings == {call_id: name}
        assert naming.line() == f'recording_name: "{template}"'


def test_a_profile_template_that_misses_is_said_to_miss() -> None:
    naming = suggest([CallSeen(CID, START, ("rec-tOOps6kq1jzO3eaktljh",))], "rec-{call_id}")
    assert naming.profile_fits is False and naming.template == "rec-{call_id|alnum}"


def test_a_call_id_of_letters_and_digits_cannot_tell_as_sent_from_filtered() -> None:
    plain = CallSeen("tOOps6kq1jzO3eaktljh", START, ("rec-tOOps6kq1jzO3eaktljh",))
    naming = suggest([plain])
    assert naming.template == "rec-{call_id}" and "rec-{call_id|alnum}" in naming.also
    probe = "aZ9.-"  # what our phones' Call-IDs are made of
    assert "rec-{call_id|alnum}" in undecided(naming, probe)
    assert "rec-{call_id|replace:@:_}" not in undecided(naming, probe)  # no '@' in ours
    telling = CallSeen(CID, START, ("rec-tOOps6kq1jzO3eaktljh",))
    both = suggest([plain, telling])  # a second call with a '.' decides it
    assert both.template == "rec-{call_id|alnum}" and undecided(both, probe) == ()


def test_recordings_whose_time_nobody_tells_are_counted_apart() -> None:
    """Check 6 counted months-old ``rec-<call-id>`` names (ARI gives no time) as 'in the last hour'."""
    from harness.doctor.api import listed
    from harness.targets.adapter import RecordingInfo

    timed = RecordingInfo("1001-1796400000.1", None, START, 1.0, None, 8000, "wav", None)
    untimed = RecordingInfo("rec-someoneelse", None, None, None, None, 8000, "wav", None)
    assert listed([timed]) == "1 recording(s) in the last hour"
    assert listed([timed, untimed, untimed]) == (
        "1 recording(s) in the last hour, and 2 whose time neither the name nor the platform tells")
