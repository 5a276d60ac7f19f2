"""TLS signalling and SRTP audio on 127.0.0.1, with a certificate authority made by the test.

Phones call each other directly, as in test_phones.py; two runs go through
the pytest plugin against the loopback peer over TLS, to show what a user
sees: the warning when verification is off, the run record that says so,
and the error when the platform's certificate does not verify.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.audio.prompt import find_prompt
from harness.audio.wav import read_wav
from harness.errors import PhoneError, ProfileError
from harness.sip import srtp, tls
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup, TlsSetup
from harness.sip.controller import Switchboard
from harness.sip.sdp import audio_stream
from harness.sip.timeline import CallTimeline
from harness.sip.trace import redact
from harness.targets.profile import load_target
from tests.ports import free_tcp_port

pytestmark = pytest.mark.sip
pytest_plugins = ["pytester"]

PROMPTS = Path(__file__).resolve().parents[2] / "fixtures" / "prompts" / "loopback"
PROMPT = PROMPTS / "digit_one.wav"  # 2.4 s
SUITE = "AES_CM_128_HMAC_SHA1_80"


@dataclass(frozen=True)
class Pki:
    """A throwaway CA, another CA nobody trusts, and certificates the first one signed."""

    ca: str
    other_ca: str
    server_cert: str  # CN=127.0.0.1, names IP:127.0.0.1 and DNS:localhost
    server_key: str
    client_cert: str  # CN=ccharness test client
    client_key: str
    stranger_cert: str  # signed by the CA, but for CN=pbx.invalid, DNS:pbx.invalid only
    stranger_key: str


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _ca(folder: Path, name: str, cn: str) -> None:
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def _leaf(folder: Path, name: str, cn: str, names: str, serial: int) -> None:
    (folder / f"{name}.ext").write_text(
        f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={names}\n")
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={cn}")
    _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", str(serial), "-days", "2", "-sha256", "-out", f"{name}.pem",
             "-extfile", f"{name}.ext")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca", "ccharness test CA")
    _ca(d, "other", "ccharness other CA")
    _leaf(d, "server", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", 1001)
    _leaf(d, "client", "ccharness test client", "DNS:client.invalid", 1002)
    _leaf(d, "stranger", "pbx.invalid", "DNS:pbx.invalid", 1003)
    return Pki(*(str(d / f) for f in ("ca.pem", "other.pem", "server.pem", "server.key",
                                      "client.pem", "client.key", "stranger.pem", "stranger.key")))


def phone(name: str, tmp: Path, tls_setup: TlsSetup | None = None, behaviour: Behaviour | None = None,
          srtp_mode: str = "off", transport: str = "tls", signaling: str = "tls") -> PhoneSetup:
    return PhoneSetup(name=name, capture_dir=str(tmp), account=AccountSetup(id_uri=f"sip:{name}@127.0.0.1"),
                      transport=transport, tls=tls_setup or TlsSetup(verify=False),  # type: ignore[arg-type]
                      behaviour=behaviour or Behaviour(), srtp=srtp_mode,  # type: ignore[arg-type]
                      srtp_signaling=signaling)  # type: ignore[arg-type]


def server(pki: Pki, **more: bool) -> TlsSetup:
    return TlsSetup(ca_file=pki.ca, cert_file=pki.server_cert, key_file=pki.server_key, **more)


def dial(board: Switchboard, callee: PhoneSetup, caller: PhoneSetup) -> CallTimeline:
    started = {p.name: p for p in board.start([callee, caller])}
    transport = "" if callee.transport == "udp" else f";transport={callee.transport}"
    return board.open_call(caller.name, "c1", f"sip:{callee.name}@{started[callee.name].address}{transport}", {})


def ends(board: Switchboard, tl: CallTimeline, within: float = 10.0) -> str:
    return board.wait(lambda: tl.state if tl.state in ("CONFIRMED", "DISCONNECTED") else None, within,
                      lambda: "the call to be answered or refused", timeline=tl)


def tls_events(board: Switchboard, phone_name: str) -> list[dict[str, object]]:
    return [dict(e.data) for e in board.phones[phone_name].tls if e.data.get("established")]


def hang_up(board: Switchboard, tl: CallTimeline) -> None:
    board.command(tl.phone, "hangup", handle=tl.handle)
    board.wait(lambda: tl.state == "DISCONNECTED" or None, 5.0, lambda: "BYE", timeline=tl)


# -- TLS ---------------------------------------------------------------------------------------

def test_a_call_over_tls_verified_both_ways_with_the_right_ca(board: Switchboard, tmp_path: Path,
                                                             pki: Pki) -> None:
    callee = phone("callee", tmp_path, server(pki, verify=True, verify_client=True))
    caller = phone("caller", tmp_path, TlsSetup(pki.ca, pki.client_cert, pki.client_key, verify=True))
    tl = dial(board, callee, caller)
    assert ends(board, tl) == "CONFIRMED", tl.summary()
    hang_up(board, tl)
    assert {e.data["peer"].split(" ")[0] for e in board.sip_trace(tl)} == {"TLS"}
    dialled = tls_events(board, "caller")[0]
    assert dialled["verified"] and not dialled["server_side"] and dialled["protocols"] == ["TLSv1.2"]
    assert "CN=127.0.0.1" in str(dialled["peer_subject"]) and "ccharness test CA" in str(dialled["peer_issuer"])
    assert "IP:127.0.0.1" in dialled["peer_names"]  # type: ignore[operator]
    accepted = tls_events(board, "callee")[0]  # the callee demanded the caller's certificate
    assert accepted["server_side"] and accepted["verified"]
    assert "ccharness test client" in str(accepted["peer_subject"])
    assert "verified" in tls.summary(dialled) and "NOT" not in tls.summary(dialled)


@pytest.mark.parametrize("case", ["wrong CA", "wrong name"])
def test_a_certificate_that_does_not_verify_fails_the_handshake_saying_why(board: Switchboard, tmp_path: Path,
                                                                          pki: Pki, case: str) -> None:
    ca, presented = (pki.other_ca, server(pki)) if case == "wrong CA" else \
        (pki.ca, TlsSetup(pki.ca, pki.stranger_cert, pki.stranger_key))
    callee = phone("callee", tmp_path, presented)
    caller = phone("caller", tmp_path, TlsSetup(ca_file=ca, verify=True))
    tl = dial(board, callee, caller)
    assert ends(board, tl) == "DISCONNECTED"
    assert not [e for e in board.sip_trace(tl) if e.data["dir"] == "RX"]
    assert board.calls_of("callee") == []  # no INVITE got through
    message = board.tls_failure("caller")
    assert message is not None, [e.data for e in board.phones["caller"].tls]
    address = board.phones["callee"].address
    assert f"TLS verification failed at the handshake with {address}, before any SIP was sent" in message
    assert f"checked against {ca}" in message and "tls.ca_file" in message
    if case == "wrong CA":
        assert "the server's certificate was refused (The certificate is untrusted)" in message
        assert "it presented CN=127.0.0.1 issued by CN=ccharness test CA, names IP:127.0.0.1, DNS:localhost" in message
    else:
        assert "refused (The server identity does not match to any identities specified in the certificate)" in message
        assert "it presented CN=pbx.invalid issued by CN=ccharness test CA, names DNS:pbx.invalid" in message
    assert tl.final_status() == (503, "SSL certificate verification error (PJSIP_TLS_ECERTVERIF)")


def test_verification_off_connects_and_records_that_nothing_was_verified(board: Switchboard, tmp_path: Path,
                                                                        pki: Pki) -> None:
    callee = phone("callee", tmp_path, server(pki))
    caller = phone("caller", tmp_path, TlsSetup(ca_file=pki.other_ca, verify=False))
    tl = dial(board, callee, caller)
    assert ends(board, tl) == "CONFIRMED", tl.summary()
    hang_up(board, tl)
    assert board.tls_failure("caller") is None
    dialled = tls_events(board, "caller")[0]
    assert not dialled["verified"] and dialled["verify_msgs"]  # it would have failed
    assert "NOT verified" in tls.summary(dialled)


def test_the_verification_failure_message_on_its_own() -> None:
    event = {"verify_failed": True, "remote": "192.0.2.7:5061", "verify_msgs": ["The certificate has expired"],
             "peer_subject": "CN=pbx.example", "peer_issuer": "CN=Example CA", "peer_names": ["DNS:pbx.example"]}
    message = tls.verification_failure([{"verify_failed": False}, event], "/etc/ccharness/ca.pem")
    assert message is not None and message.startswith(
        "TLS verification failed at the handshake with 192.0.2.7:5061, before any SIP was sent: the "
        "server's certificate was refused (The certificate has expired); it presented CN=pbx.example issued by "
        "CN=Example CA, names DNS:pbx.example; checked against /etc/ccharness/ca.pem")
    assert tls.verification_failure([{"verify_failed": False, "verify_msgs": ["x"]}], None) is None
    assert "verification is OFF for pbx:5061" in tls.unverified_warning("pbx:5061")


# -- SRTP --------------------------------------------------------------------------------------

def test_srtp_mandatory_on_both_ends_encrypts_the_audio_and_the_prompt_is_heard(
        board: Switchboard, tmp_path: Path, pki: Pki) -> None:
    callee = phone("callee", tmp_path, server(pki), Behaviour(play=str(PROMPT)), "mandatory")
    caller = phone("caller", tmp_path, TlsSetup(ca_file=pki.ca), srtp_mode="mandatory")
    tl = dial(board, callee, caller)
    assert ends(board, tl) == "CONFIRMED", tl.summary()
    leg = board.wait(lambda: next(iter(board.calls_of("callee")), None), 2.0, lambda: "callee's leg")
    board.wait(lambda: leg.last("play", state="done") or None, 6.0, lambda: "the prompt played", timeline=leg)
    tail = time.monotonic() + 0.5  # its last packets are still on their way
    board.wait(lambda: time.monotonic() >= tail or None, 2.0, lambda: "the prompt's tail to arrive")
    hang_up(board, tl)
    board.wait(lambda: tl.last("capture_closed") or None, 5.0, lambda: "capture closed", timeline=tl)
    invite = next(e.data["text"] for e in board.sip_trace(tl) if e.data["first_line"].startswith("INVITE"))
    offer = audio_stream(invite)
    assert offer is not None and offer.profile == "RTP/SAVP" and SUITE in offer.crypto
    assert "inline:[redacted]" in invite  # the SRTP master key stays out of traces and evidence
    answer = next(e.data["text"] for e in board.sip_trace(tl) if e.data["first_line"].startswith("SIP/2.0 200"))
    chosen = audio_stream(answer)
    assert chosen is not None and chosen.profile == "RTP/SAVP" and len(chosen.crypto) == 1
    for side in (tl, leg):  # both ends encrypt with the suite the answer chose (PJSIP: AES-256 first)
        assert side.media_security() == {"active": True, "suite": chosen.crypto[0], "profile": "RTP/SAVP"}
        assert f"MEDIA_ACTIVE(SRTP {chosen.crypto[0]} RTP/SAVP)" in side.summary()
    assert tl.capture_path is not None
    heard = find_prompt(read_wav(tl.capture_path)[0], read_wav(PROMPT)[0])
    assert heard is not None, "the prompt was not heard through SRTP"


@pytest.mark.parametrize(("caller_mode", "callee_mode"), [("mandatory", "off"), ("off", "mandatory")])
def test_srtp_mandatory_against_a_peer_without_it_is_refused_488(board: Switchboard, tmp_path: Path, pki: Pki,
                                                                 caller_mode: str, callee_mode: str) -> None:
    callee = phone("callee", tmp_path, server(pki), srtp_mode=callee_mode)
    caller = phone("caller", tmp_path, TlsSetup(ca_file=pki.ca), srtp_mode=caller_mode)
    tl = dial(board, callee, caller)
    assert ends(board, tl) == "DISCONNECTED"
    assert tl.final_status() == (488, "Not Acceptable Here"), tl.summary()
    assert tl.media_security() is None  # no audio ever flowed


@pytest.mark.parametrize(("callee_mode", "encrypted"), [("off", False), ("optional", True), ("mandatory", False)])
def test_srtp_optional_uses_srtp_where_the_peer_has_it_and_falls_back_where_not(
        board: Switchboard, tmp_path: Path, pki: Pki, callee_mode: str, encrypted: bool) -> None:
    callee = phone("callee", tmp_path, server(pki), srtp_mode=callee_mode)
    caller = phone("caller", tmp_path, TlsSetup(ca_file=pki.ca), srtp_mode="optional")
    tl = dial(board, callee, caller)
    state = ends(board, tl)
    if callee_mode == "mandatory":  # best effort offers RTP/AVP, which a mandatory peer refuses
        assert state == "DISCONNECTED" and tl.final_status() == (488, "Not Acceptable Here"), tl.summary()
        return
    assert state == "CONFIRMED", tl.summary()
    security = board.wait(tl.media_security, 3.0, lambda: "audio", timeline=tl)
    assert security["active"] is encrypted and security["profile"] == "RTP/AVP"
    hang_up(board, tl)


def test_srtp_keys_go_over_udp_only_with_srtp_signaling_any(board: Switchboard, tmp_path: Path) -> None:
    callee = phone("callee", tmp_path, None, srtp_mode="mandatory", transport="udp", signaling="any")
    caller = phone("caller", tmp_path, None, srtp_mode="mandatory", transport="udp", signaling="any")
    tl = dial(board, callee, caller)
    assert ends(board, tl) == "CONFIRMED", tl.summary()
    assert board.wait(tl.media_security, 3.0, lambda: "audio", timeline=tl)["active"]
    hang_up(board, tl)
    refused = phone("strict", tmp_path, None, srtp_mode="mandatory", transport="udp")  # keys only over TLS
    board.start([refused])
    with pytest.raises(PhoneError, match="PJSIP_ESESSIONINSECURE"):  # what the profile check spares users
        board.open_call("strict", "c2", f"sip:callee@{board.phones['callee'].address}", {})


def test_srtp_pure_parts() -> None:
    dump = "  #0 audio PCMU @8kHz, sendrecv, peer=127.0.0.1:4000\n     SRTP status: Active Crypto-suite: " + SUITE
    assert srtp.from_dump(dump) == {"active": True, "suite": SUITE}
    assert srtp.from_dump("SRTP status: Not active Crypto-suite: ") == {"active": False, "suite": ""}
    assert srtp.from_dump("no srtp here") == {"active": False, "suite": ""}
    assert srtp.label({"active": True, "suite": SUITE, "profile": "RTP/SAVP"}) == f"SRTP {SUITE} RTP/SAVP"
    assert srtp.label(None) == "RTP"
    sdp = ("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/SAVP 0 101\r\n"
           f"a=crypto:1 {SUITE} inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n"
           "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n")
    stream = audio_stream(sdp)
    assert stream is not None and stream.profile == "RTP/SAVP"
    assert stream.crypto == (SUITE, "AES_CM_128_HMAC_SHA1_32")
    clean = redact(sdp)
    assert "WVNfX19" not in clean and "NzB4d1" not in clean
    assert f"a=crypto:1 {SUITE} inline:[redacted]|2^20|1:32" in clean


# -- target profiles and runs ------------------------------------------------------------------

def _profile(folder: Path, transport: str, more: str) -> Path:
    path = folder / "target.yaml"
    path.write_text(f"name: t\nplatform: {{host: 127.0.0.1, transport: {transport}}}\n{more}\n")
    return path


def test_profile_srtp_modes_and_their_checks(tmp_path: Path) -> None:
    assert load_target(_profile(tmp_path, "tls", "srtp: off")).srtp == "off"  # YAML reads off as false
    assert load_target(_profile(tmp_path, "tls", "")).srtp == "off"
    strict = load_target(_profile(tmp_path, "tls", "srtp: mandatory"))
    assert (strict.srtp, strict.srtp_signaling, strict.port) == ("mandatory", "tls", 5061)
    loose = load_target(_profile(tmp_path, "udp", "srtp: mandatory\nsrtp_signaling: any"))
    assert (loose.srtp, loose.srtp_signaling) == ("mandatory", "any")
    with pytest.raises(ProfileError) as err:
        load_target(_profile(tmp_path, "udp", "srtp: mandatory"))
    assert "srtp: mandatory sends its keys only over transport tls, not udp" in str(err.value)
    with pytest.raises(ProfileError) as err:
        load_target(_profile(tmp_path, "tcp", "srtp: optional"))
    assert "srtp: optional sends its keys only over transport tls, not tcp" in str(err.value)
    with pytest.raises(ProfileError) as err:
        load_target(_profile(tmp_path, "tls", "srtp: yes please"))
    assert "srtp is off, optional or mandatory" in str(err.value)


SCENARIO = """
name: the peer answers over TLS with encrypted audio
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: digit_one, within: 3s}
  - hangup
"""


def _run_profile(pytester: pytest.Pytester, pki: Pki, port: int, tls_section: str) -> Path:
    path = pytester.path / "target.yaml"
    path.write_text(f"""
name: loopback-tls
platform: {{host: 127.0.0.1, port: {port}, transport: tls}}
managed: peer
peer: {{answer_after: 0.1s, prompt: digit_one, cert_file: {pki.server_cert}, key_file: {pki.server_key}}}
tls: {tls_section}
srtp: mandatory
prompts: {PROMPTS / "prompts.yaml"}
dids: {{main: "100"}}
accounts:
  caller: {{username: caller, register: false}}
""")
    return path


def _run(pytester: pytest.Pytester, target: Path) -> pytest.RunResult:
    pytester.makefile(".scenario.yaml", tls_call=SCENARIO)
    return pytester.runpytest_subprocess(f"--cc-target={target}", f"--cc-reports={pytester.path / 'reports'}",
                                         "--cc-run-id=run", "-p", "no:cacheprovider", timeout=120)


def test_a_run_with_verification_off_warns_once_and_its_record_says_so(pytester: pytest.Pytester,
                                                                       pki: Pki) -> None:
    result = _run(pytester, _run_profile(pytester, pki, free_tcp_port(), "{verify: false}"))
    result.assert_outcomes(passed=1)
    warnings = [line for line in result.outlines if "TLS certificate verification is OFF" in line]
    assert len(warnings) == 1, result.outlines
    records = [json.loads(line) for line in (pytester.path / "reports" / "run" / "evidence.jsonl").open()]
    run = next(r for r in records if r["type"] == "run")
    assert run["target"]["tls"]["verify"] is False and run["target"]["srtp"] == "mandatory"
    calls = next(r for r in records if r["type"] == "scenario")["calls"]
    assert calls and all(c["media_security"]["active"] for c in calls), calls


def test_a_run_against_a_certificate_that_does_not_verify_is_an_error_saying_why(pytester: pytest.Pytester,
                                                                                 pki: Pki) -> None:
    started = time.monotonic()
    result = _run(pytester, _run_profile(pytester, pki, free_tcp_port(), f"{{ca_file: {pki.other_ca}}}"))
    result.assert_outcomes(failed=1)
    text = "\n".join(result.outlines)
    assert "ERROR (the run could not decide): TargetError: TLS verification failed" in text
    assert "TLS verification failed at the handshake with 127.0.0.1:" in text
    assert f"checked against {pki.other_ca}" in text
    assert time.monotonic() - started < 60
