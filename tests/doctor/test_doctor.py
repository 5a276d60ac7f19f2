"""``ccharness doctor``: each failure mode provoked for real, its verdict and its fix hint asserted.

Against the loopback peer (a profile copy on a free port) and against one
reference platform started for the module on free ports; each reference
profile is a copy trimmed to what its failure mode needs, to keep the time
down.  The doctor runs in-process through the command line, as a user runs it.
"""

from __future__ import annotations

import copy
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.doctor.clock import judge
from harness.doctor.network import PROBE_TIMEOUT
from harness.errors import ProfileError
from harness.sip.sdp import audio_stream
from harness.targets.profile import load_target
from tests.ports import free_udp_port

PROJECT = Path(__file__).resolve().parents[2]
LOOPBACK = PROJECT / "fixtures" / "targets" / "loopback.yaml"
WRONG_PASSWORD = "wrong-Secret-4711"
WRONG_API_PASSWORD = "wrong-Api-0815"


def write_profile(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def loopback(folder: Path, port: int, **changes: Any) -> Path:
    spec = yaml.safe_load(LOOPBACK.read_text(encoding="utf-8"))
    spec["platform"]["port"] = port
    spec["prompts"] = str((LOOPBACK.parent / spec["prompts"]).resolve())
    spec.update(changes)
    if spec.get("managed") == "none":
        spec.pop("peer")
    return write_profile(folder / "target.yaml", spec)


def doctor(capsys: pytest.CaptureFixture[str], profile: Path, *args: str) -> tuple[int, str]:
    code = main(["doctor", "--target", str(profile), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def line(output: str, number: int, check: str) -> str:
    """The finding line(s) of one check, with the hint line that follows each."""
    lines = output.splitlines()
    found = [i for i, text in enumerate(lines) if text[9:].startswith(f"{number} {check} ")]
    assert found, f"no line for check {number} {check} in:\n{output}"
    return "\n".join(lines[i] + ("\n" + lines[i + 1] if i + 1 < len(lines) and "hint:" in lines[i + 1]
                                 else "") for i in found)


# -- no SIP ---------------------------------------------------------------------------------

def test_clock_skew_thresholds() -> None:
    assert judge(1.5, 1.0, "x").verdict == "ok"
    assert judge(-5.0, 1.0, "x").verdict == "WARN"
    failed = judge(45.0, 1.0, "x")
    assert failed.verdict == "FAIL" and "45s ahead of" in failed.hint and "NTP" in failed.hint


def test_the_answer_sdp_gives_codec_and_media_address() -> None:
    sdp = ("v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
           "m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")
    stream = audio_stream(sdp)
    assert stream is not None and stream.codec == "PCMA/8000" and stream.address == "10.0.0.5"


def test_a_bad_dtmf_probe_is_reported_with_every_problem(tmp_path: Path) -> None:
    spec = yaml.safe_load(LOOPBACK.read_text(encoding="utf-8"))
    spec["prompts"] = str((LOOPBACK.parent / spec["prompts"]).resolve())
    spec["doctor"] = {"dtmf_probe": {"did": "mian", "digits": "9x", "expect_prompt": "digit_on"}}
    with pytest.raises(ProfileError) as err:
        load_target(write_profile(tmp_path / "bad.yaml", spec))
    text = str(err.value)
    assert "doctor.dtmf_probe.did: 'mian' is not one of the profile's dids (hint: did you mean 'main'?" in text
    assert "doctor.dtmf_probe.digits: 'x' is not a DTMF digit" in text
    assert "doctor.dtmf_probe.expect_prompt: 'digit_on' is not one of" in text


# -- the loopback peer ------------------------------------------------------------------------

@pytest.mark.sip
def test_loopback_peer_is_healthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(capsys, loopback(tmp_path, free_udp_port()))
    assert code == 0, out
    for number, check in ((1, "reach"), (2, "options"), (4, "call"), (4, "codec"), (4, "audio"), (5, "dtmf")):
        assert line(out, number, check).startswith("ok "), out
    assert "by rfc4733: heard" in line(out, 5, "dtmf")
    assert line(out, 3, "register").startswith("skipped ")


@pytest.mark.sip
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_closed_port_is_unreachable_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              transport: str) -> None:
    port = free_udp_port()
    profile = loopback(tmp_path, port, managed="none",
                       platform={"host": "127.0.0.1", "port": port, "transport": transport})
    began = time.monotonic()
    code, out = doctor(capsys, profile)
    assert time.monotonic() - began < PROBE_TIMEOUT, out  # refused, not waited out
    assert code == 1
    reach = line(out, 1, "reach")
    assert reach.startswith("FAIL ") and "nothing listens there" in reach
    assert f"platform.port ({port}) and platform.transport ({transport}) in {profile}" in reach
    assert line(out, 2, "options").startswith("skipped ")
    assert line(out, 4, "call").startswith("skipped ")


@pytest.mark.sip
def test_a_port_that_swallows_sip_fails_within_the_probe_deadline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hole:  # bound, never answers
        hole.bind(("127.0.0.1", 0))
        profile = loopback(tmp_path, hole.getsockname()[1], managed="none")
        began = time.monotonic()
        code, out = doctor(capsys, profile)
        took = time.monotonic() - began
    assert code == 1 and took < PROBE_TIMEOUT + 3.0, (took, out)
    reach = line(out, 1, "reach")
    assert reach.startswith("FAIL ") and f"within {PROBE_TIMEOUT:g}s" in reach
    assert "firewall" in reach and "platform.host (127.0.0.1)" in reach


# -- the reference platform -------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One reference platform for the module; yields its profile (as a dict) and its folder."""
    if shutil.which("kamailio") is None:
        pytest.skip("needs Debian's kamailio package")
    from tests.recording.reference import reference_platform

    folder = tmp_path_factory.mktemp("doctor-reference")
    with pytest.MonkeyPatch.context() as mp, reference_platform(folder, mp) as platform:
        mp.setenv("CC_DOCTOR_WRONG_PW", WRONG_PASSWORD)
        mp.setenv("CC_DOCTOR_WRONG_API_PW", WRONG_API_PASSWORD)
        spec = yaml.safe_load(platform.target.path.read_text(encoding="utf-8"))
        yield {"spec": spec, "folder": folder, "state": platform.state_dir}


def reference_profile(reference: dict[str, Any], name: str, **changes: Any) -> Path:
    spec = copy.deepcopy(reference["spec"])
    spec.update(changes)
    if "accounts" in changes:  # the seats name the reference's accounts; the doctor uses none of them
        spec.pop("seat_accounts", None)
    return write_profile(reference["folder"] / f"{name}.yaml", {k: v for k, v in spec.items() if v is not None})


def secrets_of(reference: dict[str, Any]) -> list[str]:
    text = (reference["state"] / "secrets.env").read_text()
    return [v for k, _, v in (ln.partition("=") for ln in text.splitlines()) if v and not k.startswith("#")]


@pytest.mark.sip
@pytest.mark.kamailio
def test_a_healthy_reference_is_all_ok(reference: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(capsys, reference_profile(reference, "healthy"), "--did", "main")
    assert code == 0, out
    verdicts = [ln.split()[0] for ln in out.splitlines()[1:-1] if not ln.lstrip().startswith("hint:")]
    assert set(verdicts) == {"ok"}, out
    assert len([v for v in out.splitlines() if v[9:].startswith("3 register ")]) == 8
    assert "PCMU/8000" in line(out, 4, "codec")
    assert "'opening_hours': by rfc4733: heard" in line(out, 5, "dtmf")
    assert "authenticated; retention 190 days" in line(out, 6, "recordings")
    assert "by the HTTP Date of http://127.0.0.1:" in line(out, 7, "clock")
    assert not any(secret in out for secret in secrets_of(reference))


@pytest.mark.sip
@pytest.mark.kamailio
def test_a_wrong_password_names_the_account_and_never_the_secret(
        reference: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    accounts = {"caller": {"username": "1001", "password": "${ENV:CC_DOCTOR_WRONG_PW}"}}
    profile = reference_profile(reference, "wrong-password", accounts=accounts, doctor=None)
    code, out = doctor(capsys, profile, "--did", "main")
    assert code == 1
    register = line(out, 3, "register")
    assert register.startswith("FAIL ") and "403 Forbidden after authenticating" in register
    assert (f"hint: wrong password for account caller (username 1001): check "
            f"${{ENV:CC_DOCTOR_WRONG_PW}} in {profile}") in register
    assert "did not register (check 3)" in line(out, 4, "call")
    assert WRONG_PASSWORD not in out
    assert not any(secret in out for secret in secrets_of(reference))


@pytest.mark.sip
@pytest.mark.kamailio
def test_a_dtmf_method_the_platform_ignores_is_told_from_no_reaction(
        reference: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # The reference's media workers take RFC 4733 and SIP INFO (pjsua2 reports both), never in-band tones.
    spec = reference["spec"]
    probe = dict(spec["doctor"]["dtmf_probe"], within="3s")
    profile = reference_profile(reference, "inband", dtmf_method="inband", doctor={"dtmf_probe": probe},
                                accounts={"caller": spec["accounts"]["caller"]})
    code, out = doctor(capsys, profile, "--did", "main")
    assert code == 1
    dtmf = line(out, 5, "dtmf")
    assert dtmf.startswith("FAIL ")
    assert "DTMF method mismatch: the platform reacts to rfc4733, the profile says inband" in dtmf
    assert "by inband: 'opening_hours' not heard within 3s" in dtmf
    assert f"hint: set dtmf_method: rfc4733 in {profile}" in dtmf


@pytest.mark.sip
@pytest.mark.kamailio
def test_a_wrong_api_password_is_a_401_with_its_hint(
        reference: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    adapter = dict(reference["spec"]["adapter"], password="${ENV:CC_DOCTOR_WRONG_API_PW}")
    profile = reference_profile(reference, "wrong-api", adapter=adapter, accounts={}, doctor=None)
    code, out = doctor(capsys, profile)
    assert code == 1
    api = line(out, 6, "recordings")
    assert api.startswith("FAIL ") and "refused user 'admin': 401" in api
    assert ("hint: check the password in environment variable CC_DOCTOR_WRONG_API_PW and "
            f"adapter.username in {profile}") in api
    assert WRONG_API_PASSWORD not in out
    assert line(out, 1, "reach").startswith("ok ")


# -- check 8: the recorded call's name --------------------------------------------------------

@pytest.mark.sip
@pytest.mark.kamailio
def test_the_reference_recording_is_named_by_the_call_id_as_sent(
        reference: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    spec = reference["spec"]
    profile = reference_profile(reference, "recname", doctor={"recorded_call": {
        "did": "sales", "agent": "agent1", "hold": "1s"}}, accounts={
        k: spec["accounts"][k] for k in ("caller", "agent1")})
    code, out = doctor(capsys, profile, "--did", "main")
    recname = line(out, 8, "recname")
    assert code == 0 and recname.startswith("ok "), out
    assert 'recording_name: "rec-{call_id}" names rec-' in recname
    assert "the reference adapter finds recordings by Call-ID" in recname


@pytest.fixture(scope="module")
def filtering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A reference platform whose recordings are named as ${FILTER(0-9A-Za-z,...)} names them,
    read as a folder of files (the directory adapter), as a mounted recording spool is."""
    if shutil.which("kamailio") is None:
        pytest.skip("needs Debian's kamailio package")
    from tests.recording.reference import reference_platform

    folder = tmp_path_factory.mktemp("doctor-filtered")
    with pytest.MonkeyPatch.context() as mp, \
            reference_platform(folder, mp, ("rec_name_filtered",)) as platform:
        spec = yaml.safe_load(platform.target.path.read_text(encoding="utf-8"))
        spec["accounts"] = {k: spec["accounts"][k] for k in ("caller", "agent1")}
        spec.pop("seat_accounts", None)  # it names the reference's other accounts
        spec["doctor"] = {"recorded_call": {"did": "sales", "agent": "agent1", "hold": "1s"}}
        spec["adapter"] = {"type": "directory", "extensions": ["wav"],
                           "folder": str(platform.state_dir / "recordings" / "files")}
        yield {"spec": spec, "folder": folder}


def filtered_profile(filtering: dict[str, Any], name: str, template: str) -> Path:
    spec = copy.deepcopy(filtering["spec"])
    spec["adapter"]["recording_name"] = template
    return write_profile(filtering["folder"] / f"{name}.yaml", spec)


@pytest.mark.sip
@pytest.mark.kamailio
def test_doctor_names_the_template_of_a_dialplan_that_filters_the_call_id(
        filtering: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # What a user writes first: the Call-ID as sent, which this platform's names do not hold.
    first = filtered_profile(filtering, "as-sent", "rec-{call_id}")
    code, out = doctor(capsys, first, "--did", "sales")
    recname = line(out, 8, "recname")
    assert code == 1 and recname.startswith("FAIL "), out
    assert 'the profile\'s recording_name "rec-{call_id}" names none of' in recname
    if "could not tell it from" not in recname:  # some Call-ID had a '.' or a '-'
        assert f'hint: put recording_name: "rec-{{call_id|alnum}}" in {first}' in recname, out
    # The line it recommends, put in the profile, finds the next call's recording.
    second = filtered_profile(filtering, "alnum", "rec-{call_id|alnum}")
    code, out = doctor(capsys, second, "--did", "sales")
    recname = line(out, 8, "recname")
    assert code == 0 and recname.startswith("ok "), out
    assert 'the profile\'s recording_name: "rec-{call_id|alnum}" names rec-' in recname
