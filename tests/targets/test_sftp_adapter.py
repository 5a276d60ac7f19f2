"""The SFTP adapter against a real SFTP server on 127.0.0.1 (asyncssh's, ``sftp_server.py``).

The server's root is a temporary folder holding real WAV files (each holding a
call's marker), named as a platform would name them, with modification times
set as the platform would have left them.  The adapter talks to it over real
SSH: key exchange, host key check, login, SFTP requests.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncssh
import pytest

from harness.errors import ProfileError, TargetError
from harness.targets.adapter import NotSupported, Platform, RecordingInfo
from harness.targets.model import Target
from harness.targets.profile import load_target
from harness.targets.registry import adapter_for
from harness.targets.sftp import SftpPlatform
from tests.targets.recording_check import check_found, recording, retention_source
from tests.targets.sftp_server import SftpServer, known_hosts_line

CALL = "kZ1OhsT50pM8b0G7QaFAJzepOzIH5gOR"
NOW = datetime.now(UTC)
WINDOW = (NOW - timedelta(minutes=10), NOW + timedelta(minutes=10))
SHANGHAI = ZoneInfo("Asia/Shanghai")
DATED = "{start:%Y/%m/%d}/{caller}-{call_id}"
PASSWORD = "s3cret-Pa55word"  # what no message may show
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "targets" / "sftp.example.yaml"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SftpServer]:
    monkeypatch.setenv("CC_TEST_SFTP_PW", PASSWORD)
    (tmp_path / "server" / "recordings").mkdir(parents=True)
    running = SftpServer(tmp_path / "server", {"harness": PASSWORD}).start()
    yield running
    running.stop()


@pytest.fixture
def opened() -> Iterator[list[Platform]]:
    """Adapters to close when the test ends, so no connection outlives its server."""
    platforms: list[Platform] = []
    yield platforms
    for platform in platforms:
        if isinstance(platform, SftpPlatform):
            platform.close()


def target(port: int, profile_dir: Path, **extra: Any) -> Target:
    spec = {"type": "sftp", "host": "127.0.0.1", "port": port, "username": "harness",
            "password": _secret("CC_TEST_SFTP_PW"), "folder": "/recordings", "timeout": 5, **extra}
    return Target(name="t", path=profile_dir / "sftp.yaml", host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None,
                  adapter={k: v for k, v in spec.items() if v is not None})


def _secret(name: str) -> Any:
    from harness.targets.model import Secret

    return Secret(name)


def platform_for(server: SftpServer, opened: list[Platform], tmp_path: Path,
                 **extra: Any) -> SftpPlatform:
    extra.setdefault("host_key", server.fingerprint)
    built = adapter_for(target(server.port, tmp_path, **extra))
    opened.append(built)
    assert isinstance(built, SftpPlatform)
    return built


def written(path: Path, ago_s: float, call_id: str = "someone-else") -> Path:
    """A recording at ``path`` last written ``ago_s`` seconds ago."""
    recording(path, call_id)
    moment = (NOW - timedelta(seconds=ago_s)).timestamp()
    os.utime(path, (moment, moment))
    return path


def day(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y/%m/%d}"


def refused(call: Any) -> str:
    with pytest.raises(TargetError) as caught:
        call()
    return str(caught.value)


# -- found and checked --------------------------------------------------------------------
def test_a_file_named_after_the_call_passes_the_recording_check(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    share = server.root / "recordings"
    mine = written(share / day(NOW) / f"1001-{CALL}.wav", 20, CALL)
    written(share / day(NOW) / "1002-another-call.wav", 10)
    written(share / "2020/01/01" / f"1001-{CALL}.wav", 30)  # an old day: never listed
    platform = platform_for(server, opened, tmp_path, recording_name=DATED,
                            recording_timezone="Asia/Shanghai")
    assert isinstance(platform, Platform)
    assert platform.description == f"SFTP folder /recordings on 127.0.0.1:{server.port}"
    work = tmp_path / "work"
    verdict = check_found(platform, CALL, work, require_auth=False, now=NOW)
    name = f"{day(NOW)}/1001-{CALL}"
    assert (verdict.found_by, verdict.name, verdict.problems) == ("SIP Call-ID", name, [])
    assert (work / f"{name}.wav").read_bytes() == mine.read_bytes()
    assert [p.name for p in work.rglob("*") if p.name.startswith(".")] == []  # no partial left
    assert platform.get_recording(name) == platform.find_recordings(CALL, *WINDOW)[0]
    assert platform.find_recordings("not-this-call", *WINDOW) == []
    assert server.attempts == [("harness", "password")]  # one connection, kept


def test_a_connection_the_server_dropped_is_made_anew(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    written(server.root / "recordings" / f"rec-{CALL}.wav", 20, CALL)
    platform = platform_for(server, opened, tmp_path)
    assert len(platform.find_recordings(CALL, *WINDOW)) == 1
    server.drop()
    assert len(platform.find_recordings(CALL, *WINDOW)) == 1
    assert server.attempts == [("harness", "password")] * 2
    platform.close()
    assert len(platform.find_recordings(CALL, *WINDOW)) == 1  # close() is not the end
    assert len(server.attempts) == 3


def test_a_candidate_by_modification_time_is_proven_by_its_marker(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    share = server.root / "recordings"
    for name, ago, whose in (("q1/a", 50, "earlier"), ("q1/b", 40, CALL), ("q2/c", 30, "later")):
        written(share / f"{name}.wav", ago, whose)
    written(share / "q2" / "old.wav", 3 * 3600)  # hours before the call
    written(share / ".trash" / "d.wav", 10)  # hidden
    (share / "q2" / "notes.txt").write_text("not a recording")
    platform = platform_for(server, opened, tmp_path)
    found = platform.find_recordings(None, *WINDOW)
    assert [(r.name, r.call_id, r.format) for r in found] == \
        [("q1/a", None, "wav"), ("q1/b", None, "wav"), ("q2/c", None, "wav")]
    stored = found[0].created_utc  # the file's modification time, as the server lists it
    assert stored is not None and abs((stored - NOW).total_seconds() + 50) < 1.5
    verdict = check_found(platform, CALL, tmp_path / "work", require_auth=False, now=NOW)
    assert (verdict.found_by, verdict.name, verdict.problems) == ("time window and marker", "q1/b", [])


def test_a_download_without_credentials_is_refused_and_a_server_that_allows_it_fails(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    written(server.root / "recordings" / f"rec-{CALL}.wav", 20, CALL)
    platform = platform_for(server, opened, tmp_path, recording_name="rec-{call_id}")
    verdict = check_found(platform, CALL, tmp_path / "work", require_auth=True, now=NOW)
    assert verdict.problems == [] and verdict.figures["unauthenticated_status"] == 401
    lax = SftpServer(server.root, {}, anyone=True).start()  # lets in whoever offers nothing
    try:
        loose = platform_for(lax, opened, tmp_path, recording_name="rec-{call_id}")
        verdict = check_found(loose, CALL, tmp_path / "work2", require_auth=True, now=NOW)
        rec = loose.get_recording(f"rec-{CALL}")
        assert rec is not None and loose.fetch_unauthenticated(replace(rec, name="rec-gone")) == 404
        loose.close()
    finally:
        lax.stop()
    assert verdict.figures["unauthenticated_status"] == 200
    assert any("can be downloaded without credentials (HTTP 200)" in p for p in verdict.problems)


def test_a_key_file_logs_in_and_retention_is_the_profiles(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(tmp_path / "harness_key", "openssh")
    server.keys["harness"] = key
    written(server.root / "recordings" / f"rec-{CALL}.wav", 20, CALL)
    platform = platform_for(server, opened, tmp_path, password=None, key_file="harness_key",
                            retention_days=190)
    assert [r.call_id for r in platform.find_recordings(CALL, *WINDOW)] == [CALL]
    assert server.attempts == [("harness", "publickey")]  # no password asked for
    assert platform.retention_days() is None
    assert retention_source(platform_target(platform, tmp_path), platform)[0] == 190
    with pytest.raises(NotSupported, match="no clock to move"):
        platform.set_clock_offset(191)
    with pytest.raises(NotSupported, match="the SFTP server"):
        platform.purge()
    assert platform.queue_state() is None


def platform_target(platform: SftpPlatform, tmp_path: Path) -> Target:
    return target(platform.access.port, tmp_path, retention_days=190)


# -- refused, plainly ----------------------------------------------------------------------
def test_a_wrong_password_is_refused_without_showing_it(
        server: SftpServer, opened: list[Platform], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_TEST_SFTP_PW", "wrong-" + PASSWORD)
    message = refused(lambda: platform_for(server, opened, tmp_path).find_recordings(CALL, *WINDOW))
    assert f"SFTP server 127.0.0.1:{server.port}: login refused for user 'harness' with the " \
           f"password in ${{ENV:CC_TEST_SFTP_PW}} (adapter.password)" in message
    assert "hint: check adapter.username" in message and "\n" not in message
    assert PASSWORD not in message and server.attempts == [("harness", "password")]
    monkeypatch.delenv("CC_TEST_SFTP_PW")
    assert "environment variable CC_TEST_SFTP_PW is not set" in \
        refused(lambda: platform_for(server, opened, tmp_path).find_recordings(CALL, *WINDOW))


def test_an_unknown_host_key_is_refused_with_its_fingerprint_before_any_login(
        server: SftpServer, opened: list[Platform], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    message = refused(lambda: platform_for(server, opened, tmp_path, host_key=None)
                      .find_recordings(CALL, *WINDOW))
    assert f"SFTP server 127.0.0.1:{server.port} presented an unknown host key ssh-ed25519 " \
           f"{server.fingerprint}: refused" in message
    assert f'adapter.host_key: "{server.fingerprint}"' in message and "known_hosts" in message
    other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    message = refused(lambda: platform_for(server, opened, tmp_path, host_key=other)
                      .find_recordings(CALL, *WINDOW))
    assert f"presented host key ssh-ed25519 {server.fingerprint}, not adapter.host_key " \
           f"{other}: refused" in message
    assert server.attempts == []  # no password was sent to a server not recognised
    (tmp_path / "known_hosts").write_text(server.known_hosts_line())
    platform_for(server, opened, tmp_path, host_key=None, known_hosts="known_hosts"
                 ).find_recordings(CALL, *WINDOW)
    with caplog.at_level(logging.WARNING, logger="ccharness"):
        platform_for(server, opened, tmp_path, host_key=None, insecure_host_key=True
                     ).find_recordings(CALL, *WINDOW)
    assert f"host key of SFTP server 127.0.0.1:{server.port} is NOT checked" in caplog.text
    assert server.fingerprint in caplog.text and PASSWORD not in caplog.text


def test_a_known_hosts_file_with_another_key_for_the_host_is_a_mismatch(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "known_hosts").write_text(known_hosts_line(server.port, impostor))
    message = refused(lambda: platform_for(server, opened, tmp_path, host_key=None,
                                           known_hosts="known_hosts").find_recordings(CALL, *WINDOW))
    assert f"presented host key ssh-ed25519 {server.fingerprint}, not ssh-ed25519 " \
           f"{impostor.get_fingerprint('sha256')} in {tmp_path / 'known_hosts'}: refused" in message
    assert server.attempts == []


def test_no_server_or_a_silent_one_is_said_plainly_within_the_deadline(
        opened: list[Platform], tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens there once closed
    message = refused(lambda: adapter_for(target(closed, tmp_path, host_key=None))
                      .find_recordings(CALL, *WINDOW))
    assert message.startswith(f"SFTP server 127.0.0.1:{closed}: connection refused (hint: ")
    assert "adapter.host and adapter.port" in message
    with socket.socket() as silent:  # accepts connections (the backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()
        message = refused(lambda: adapter_for(target(silent.getsockname()[1], tmp_path,
                                                     timeout=0.5)).find_recordings(CALL, *WINDOW))
        waited = time.monotonic() - started
    assert "no answer to the SSH handshake within 0.5s" in message
    assert waited < 5  # adapter.timeout bounds it, not paramiko's 15 s banner wait


def test_a_missing_or_refused_folder_is_said_plainly(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    message = refused(lambda: platform_for(server, opened, tmp_path, folder="/not-there")
                      .find_recordings(CALL, *WINDOW))
    assert message.startswith(f"SFTP folder /not-there on 127.0.0.1:{server.port} does not exist "
                              f"or is not a folder (hint: check adapter.folder")
    written(server.root / "recordings" / "q1" / f"rec-{CALL}.wav", 20, CALL)
    platform = platform_for(server, opened, tmp_path)
    rec = platform.find_recordings(CALL, *WINDOW)[0]
    server.deny.add("/recordings/q1/rec-" + CALL + ".wav")
    message = refused(lambda: platform.fetch(rec, tmp_path / "work"))
    assert f"permission denied to download /recordings/q1/rec-{CALL}.wav (hint: the SFTP user " \
           f"'harness' needs read access to adapter.folder and its files on 127.0.0.1:" in message
    assert list((tmp_path / "work").rglob("*.wav*")) == []  # nothing half-written is left
    server.deny.add("/recordings/q1")
    assert "permission denied to list /recordings/q1" in \
        refused(lambda: platform.find_recordings(CALL, *WINDOW))
    (server.root / "recordings" / "q1" / f"rec-{CALL}.wav").unlink()
    server.deny.clear()
    assert f"recording q1/rec-{CALL} is no longer there" in \
        refused(lambda: platform.fetch(rec, tmp_path / "work"))


def test_names_from_a_hostile_listing_never_lead_out_of_the_work_folder(
        server: SftpServer, opened: list[Platform], tmp_path: Path) -> None:
    outside = written(server.root / "x.wav", 20, CALL)  # what /recordings/../x.wav reaches
    attrs = asyncssh.SFTPAttrs.from_local(os.stat(outside))
    server.lie["/recordings"] = [asyncssh.SFTPName(name, attrs=attrs) for name in
                                 (b"../x.wav", b"sub/../../x.wav", b"/x.wav", b"..", b".x.wav")]
    written(server.root / "recordings" / "b.wav", 40, "someone-else")
    platform = platform_for(server, opened, tmp_path)
    assert [r.name for r in platform.find_recordings(None, *WINDOW)] == ["b"]
    work = tmp_path / "run" / "work"
    for name, ext in (("../x", "wav"), ("sub/../../x", "wav"), ("/x", "wav"), ("x", "wav/../../x")):
        rec = RecordingInfo(name, None, None, None, None, None, ext)
        with pytest.raises(TargetError, match="refusing recording"):
            platform.fetch(rec, work)
    assert sorted(p.name for p in tmp_path.rglob("x.wav")) == ["x.wav"]  # the server's own only
    assert not (tmp_path / "run" / "x.wav").exists() and not work.exists()


# -- profiles -------------------------------------------------------------------------------
def test_the_example_profile_loads_and_builds_the_adapter() -> None:
    platform = adapter_for(load_target(EXAMPLE))
    assert isinstance(platform, SftpPlatform) and platform.folder == "/var/spool/cc-recordings"
    assert (platform.access.host, platform.access.port, platform.access.username) == \
        ("recorder.example.com", 22, "harness")
    assert platform.access.host_key is not None and platform.extensions == ("wav", "mp3")
    assert platform.names.carries_call_id and "CC_SFTP_PASSWORD" in repr(platform)


def test_a_bad_sftp_adapter_section_is_reported_at_load(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: sftp\n"
                       "  host: rec.example\n  username: harness\n  folders: /rec\n"
                       "  host_key: MD5:aa:bb\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert f"{profile}:7:3: adapter.folders: not a field of the sftp adapter" in text
    assert "did you mean 'folder'?" in text
    assert "adapter: missing required field 'folder'" in text
    assert "logs in with password: (${ENV:NAME}) or key_file:" in text
    assert "adapter.host_key: a host key fingerprint is SHA256: and 43 characters" in text


def test_a_profile_that_cannot_connect_safely_is_refused_when_built(tmp_path: Path) -> None:
    assert "adapter.known_hosts 'nowhere' is not a file" in \
        refused(lambda: adapter_for(target(22, tmp_path, known_hosts="nowhere")))
    assert "insecure_host_key: true turns off the host key check" in \
        refused(lambda: adapter_for(target(22, tmp_path, host_key="SHA256:" + "A" * 43,
                                           insecure_host_key=True)))
    assert "needs adapter.password (${ENV:NAME}) or adapter.key_file" in \
        refused(lambda: adapter_for(target(22, tmp_path, password=None)))
    message = refused(lambda: adapter_for(target(22, tmp_path, password=PASSWORD)))
    assert "adapter.password must be ${ENV:NAME}" in message and PASSWORD not in message


# -- as the recording source of the FreeSWITCH adapter -----------------------------------------
def test_freeswitch_recordings_over_sftp_pass_the_recording_check(
        server: SftpServer, opened: list[Platform], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.targets.freeswitch import FreeswitchPlatform

    written(server.root / "recordings" / f"cc-{CALL}.wav", 20, CALL)
    written(server.root / "recordings" / "cc-another-call.wav", 10)
    source = {"type": "sftp", "host": "127.0.0.1", "port": server.port, "username": "harness",
              "password": _secret("CC_TEST_SFTP_PW"), "host_key": server.fingerprint,
              "folder": "/recordings", "recording_name": "cc-{call_id}", "timeout": 5}
    fs = Target(name="t", path=tmp_path / "freeswitch.yaml", host="127.0.0.1", port=5060,
                transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none", dids={},
                accounts={}, prompts=None,
                adapter={"type": "freeswitch", "recordings": source,
                         "esl": {"host": "127.0.0.1", "port": 8021, "password": _secret("CC_TEST_SFTP_PW")}})
    platform = adapter_for(fs)
    assert isinstance(platform, FreeswitchPlatform) and isinstance(platform.recordings, SftpPlatform)
    opened.append(platform.recordings)
    verdict = check_found(platform, CALL, tmp_path / "work", require_auth=False, now=NOW)
    assert (verdict.found_by, verdict.name, verdict.problems) == ("SIP Call-ID", f"cc-{CALL}", [])
    monkeypatch.setenv("CC_TEST_SFTP_WRONG", "wrong-Pa55word")
    bad = dict(source, password=_secret("CC_TEST_SFTP_WRONG"))
    bad_fs = replace(fs, adapter={**fs.adapter, "recordings": bad})
    message = refused(lambda: adapter_for(bad_fs).find_recordings(CALL, *WINDOW))
    assert "adapter.recordings" in message and "wrong-Pa55word" not in message, message


def test_a_freeswitch_profile_with_an_sftp_source_loads_and_refuses_a_literal_password(tmp_path: Path) -> None:

    profile = tmp_path / "fs.yaml"
    text = """
name: fs
platform: {host: 127.0.0.1}
adapter:
  type: freeswitch
  esl: {host: 127.0.0.1, password: "${ENV:CC_ESL_PASSWORD}"}
  retention_days: 190
  recordings:
    type: sftp
    host: 127.0.0.1
    username: harness
    password: @PW@
    host_key: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
    folder: /var/lib/freeswitch/recordings
"""
    profile.write_text(text.replace("@PW@", '"${ENV:CC_SFTP_PASSWORD}"'))
    loaded = load_target(profile)
    assert loaded.adapter["recordings"]["type"] == "sftp"
    profile.write_text(text.replace("@PW@", "hunter2-literal"))
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    assert "adapter.recordings.password" in str(caught.value) and "hunter2-literal" not in str(caught.value)
    profile.write_text(text.replace("@PW@", '"${ENV:X}"').replace("    folder:", "    folders:"))
    with pytest.raises(ProfileError, match="not a field of an sftp source"):
        load_target(profile)
