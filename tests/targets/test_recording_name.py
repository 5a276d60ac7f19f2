"""Recording name templates: filters, the call's other identities, any strftime format, and
the meaning existing templates keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from harness.targets.model import Target
from harness.targets.name_filters import apply, parse_filter
from harness.targets.name_time import parse
from harness.targets.recording_name import NameTemplate
from harness.targets.registry import adapter_for

CALL = "tOOps6.kq1jzO3e-aktljh@pc33.Example.com"
ALNUM = "tOOps6kq1jzO3eaktljhpc33Examplecom"  # ${FILTER(0-9A-Za-z,${CHANNEL(pjsip,call-id)})}


@pytest.mark.parametrize(("chain", "out"), [
    ("alnum", ALNUM),
    ("replace:@:_", "tOOps6.kq1jzO3e-aktljh_pc33.Example.com"),
    ("replace:@:_|replace:.:_|lower", "toops6_kq1jzo3e-aktljh_pc33_example_com"),
    ("upper", CALL.upper()),
    ("replace:.:", "tOOps6kq1jzO3e-aktljh@pc33Examplecom"),
    ("hex", CALL.encode().hex()),
    ("alnum|lower", ALNUM.lower()),
])
def test_filters_apply_left_to_right(chain: str, out: str) -> None:
    assert apply([parse_filter(f) for f in chain.split("|")], CALL) == out


def test_a_recording_named_with_the_alnum_call_id_is_found() -> None:
    # Before: rec-{call_id|alnum} was refused ("is not a placeholder"), and rec-{call_id}
    # found nothing, since FILTER(0-9A-Za-z) drops the '.', '-' and '@' it keeps.
    assert NameTemplate("rec-{call_id}").read(f"rec-{ALNUM}", CALL) is None
    read = NameTemplate("rec-{call_id|alnum}").read(f"rec-{ALNUM}", CALL)
    assert read is not None and read.matched and read.call_id == CALL
    assert NameTemplate("rec-{call_id|alnum}").read(f"rec-{ALNUM}x", CALL) is None
    assert NameTemplate("rec-{call_id|alnum}").read(f"rec-{ALNUM}", "other@call") is None


def test_the_alnum_template_finds_the_file_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / f"rec-{ALNUM}.wav").write_bytes(b"RIFF")
    (tmp_path / "rec-someoneelse.wav").write_bytes(b"RIFF")
    target = Target(name="t", path=tmp_path / "t.yaml", host="127.0.0.1", port=5060,
                    transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                    dids={}, accounts={}, prompts=None,
                    adapter={"type": "directory", "folder": str(tmp_path),
                             "recording_name": "rec-{call_id|alnum}"})
    now = datetime.now(UTC)
    found = adapter_for(target).find_recordings(CALL, now - timedelta(hours=1), now + timedelta(1))
    assert [r.name for r in found] == [f"rec-{ALNUM}"] and found[0].call_id == CALL


@pytest.mark.parametrize(("template", "name", "identities", "found"), [
    ("{caller}-{call_id}", f"1001-{CALL}", {"caller": "1001"}, True),
    ("{caller}-{call_id}", f"1002-{CALL}", {"caller": "1001"}, False),
    ("{caller}-{call_id}", f"1002-{CALL}", {}, True),  # not told: any text, as before
    ("q-{header:X-Queue|lower}-{call_id|alnum}", f"q-sales-{ALNUM}", {"header:x-queue": "Sales"},
     True),
    ("q-{header:X-Queue}-{call_id|alnum}", f"q-Sales-{ALNUM}", {"header:X-QUEUE": "Support"},
     False),
    ("{did}/{caller|hex}", "4001/31303031", {"caller": "1001", "did": "4001"}, True),
])
def test_identities_narrow_what_a_placeholder_takes(
        template: str, name: str, identities: dict[str, str], found: bool) -> None:
    read = NameTemplate(template).read(name, CALL, identities)
    assert (read is not None) == found
    if read is not None and "{call_id" in template:
        assert read.matched and read.call_id == CALL


def test_the_call_id_may_come_as_an_identity() -> None:
    read = NameTemplate("rec-{call_id|alnum}").read(f"rec-{ALNUM}", identities={"call_id": CALL})
    assert read is not None and read.matched


@pytest.mark.parametrize(("fmt", "text", "moment", "resolution"), [
    ("%Y%m%d-%H%M%S", "20261127-134501", datetime(2026, 11, 27, 13, 45, 1), 1.0),
    ("%Y/%m/%d", "2026/11/27", datetime(2026, 11, 27), 86400.0),
    ("%F_%T", "2026-11-27_13:45:01", datetime(2026, 11, 27, 13, 45, 1), 1.0),
    ("%d%b%Y-%I%M%p", "27Nov2026-0145PM", datetime(2026, 11, 27, 13, 45), 60.0),
    ("%a-%Y%m%d-%H", "Fri-20261127-13", datetime(2026, 11, 27, 13), 3600.0),
    ("%Y%j%H%M", "202633113", None, 1.0),  # %j is three digits: 331 then 13 -- too short
    ("%Y%j-%H%M", "2026331-1345", datetime(2026, 11, 27, 13, 45), 60.0),
    ("%Y-%H%M", "2026-1345", datetime(2026, 1, 1), 366 * 86400.0),  # an hour of no known day
    ("%Y%m%d-%H%M%S%z", "20261127-134501+0800", datetime(2026, 11, 27, 5, 45, 1), 1.0),
    ("%H%M%S", "134501", None, 1.0),  # no year: no time
    ("%Y%m%d%Q", "20261127abc", datetime(2026, 11, 27), 86400.0),  # unknown directive: ignored
    ("%Y%m%d", "20261327", None, 1.0),  # month 13
])
def test_any_strftime_format_reads_back_as_finely_as_it_writes(
        fmt: str, text: str, moment: datetime | None, resolution: float) -> None:
    got, res = parse(text, fmt, UTC)
    assert got == (moment.replace(tzinfo=UTC) if moment else None)
    assert res == resolution


def test_a_start_format_uses_the_zone_and_places_the_name_in_time() -> None:
    template = NameTemplate("{caller}-{start:%d.%m.%Y %H-%M-%S}", ZoneInfo("Asia/Shanghai"))
    read = template.read("1001-27.11.2026 21-45-01")
    assert read is not None and read.started_utc == datetime(2026, 11, 27, 13, 45, 1, tzinfo=UTC)
    assert template.read("1001-31.11.2026 21-45-01") is None  # no 31 November


@pytest.mark.parametrize(("template", "name", "call_id", "matched"), [
    ("rec-{call_id}", f"rec-{CALL}", CALL, True),
    ("rec-{call_id}", "rec-a84b4c76e66710pc33.example.com", "a84b4c76e66710 pc33.example.com",
     True),
    ("rec-{call_id}.wav", f"rec-{CALL}", CALL, True),
    ("{caller}-{uniqueid}", "1001-1764251101.42", None, False),
    ("{start:%Y/%m/%d}/{caller}-{call_id}", f"2026/11/27/1001-{CALL}", CALL, True),
    ("{start}-{call_id}", f"1764251101-{CALL}", CALL, True),
])
def test_existing_templates_mean_what_they_meant(template: str, name: str, call_id: str | None,
                                                 matched: bool) -> None:
    read = NameTemplate(template).read(name, call_id)
    assert read is not None and read.matched == matched


@pytest.mark.parametrize(("bad", "says"), [
    ("rec-{call_id|alnm}", "'alnm' is not a filter (known filters: alnum, replace:OLD:NEW, lower, "
                           "upper, hex)"),
    ("rec-{call_id|replace:@}", "replace takes two arguments"),
    ("rec-{call_id|lower:x}", "lower takes no argument"),
    ("rec-{call_id|replace::_}", "replace needs the text to replace"),
    ("{start:%Y%m%d|hex}", "filters apply to {call_id}, {caller}, {did} and {header:X-NAME}"),
    ("{header}", "write {header:X-NAME}"),
    ("{callid}", "{callid} is not a placeholder; did you mean {call_id}?"),
])
def test_a_bad_template_says_why(bad: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        NameTemplate(bad)
    assert says in str(caught.value)
