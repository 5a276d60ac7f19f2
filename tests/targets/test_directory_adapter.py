"""The directory adapter on a temporary folder standing in for a mounted share.

Recordings are real WAV files (holding a call's marker), named as a platform
would name them, with modification times set as the platform would have left
them; other files (notes, half-written ``.part`` files, hidden files) lie
beside them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from harness.errors import ProfileError, TargetError
from harness.targets.adapter import NotSupported, Platform
from harness.targets.directory import DirectoryPlatform
from harness.targets.profile import load_target
from harness.targets.registry import adapter_for
from tests.targets.recording_check import NOW, check_found, retention_source, target, written

CALL = "kZ1OhsT50pM8b0G7QaFAJzepOzIH5gOR"
WINDOW = (NOW - timedelta(minutes=10), NOW + timedelta(minutes=10))
SHANGHAI = ZoneInfo("Asia/Shanghai")
DATED = "{start:%Y/%m/%d}/{caller}-{call_id}"
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "targets" / "directory.example.yaml"




def day(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y/%m/%d}"


# -- the adapter ----------------------------------------------------------------------------
def test_the_adapter_is_chosen_by_type_and_a_relative_folder_is_the_profiles(tmp_path: Path) -> None:
    platform = adapter_for(target("../share/recordings"))
    assert isinstance(platform, DirectoryPlatform) and isinstance(platform, Platform)
    assert platform.folder == Path("/share/recordings")
    assert platform.description == "recording folder /share/recordings"


def test_a_dated_template_finds_the_calls_file_reading_only_the_windows_folders(
        tmp_path: Path) -> None:
    today = day(NOW)
    mine = written(tmp_path / today / f"1001-{CALL}.wav", 20, CALL)
    written(tmp_path / today / "1002-another-call.wav", 30)
    written(tmp_path / "2020/01/01" / f"1001-{CALL}.wav", 30)  # an old day: never read
    (tmp_path / today / f"1001-{CALL}.txt").write_text("notes")
    platform = adapter_for(target(tmp_path, recording_name=DATED, recording_timezone="Asia/Shanghai"))
    found = platform.find_recordings(CALL, *WINDOW)
    name = f"{today}/1001-{CALL}"
    assert [(r.name, r.call_id, r.format, r.size) for r in found] == \
        [(name, CALL, "wav", mine.stat().st_size)]
    assert found[0].started_utc == datetime.strptime(today, "%Y/%m/%d").replace(tzinfo=SHANGHAI)
    assert isinstance(platform, DirectoryPlatform)
    assert set(platform._folders(*WINDOW)) == {day(WINDOW[0]), day(WINDOW[1])}
    copy = platform.fetch(found[0], tmp_path / "work")
    assert copy == tmp_path / "work" / f"{name}.wav" and copy.read_bytes() == mine.read_bytes()
    assert platform.get_recording(name) == found[0]
    assert platform.find_recordings("not-this-call", *WINDOW) == []  # the step asks again


def test_without_a_template_files_are_candidates_by_modification_time(tmp_path: Path) -> None:
    written(tmp_path / "q1" / "a.wav", 50)
    written(tmp_path / "q1" / "b.mp3", 40)  # a name; the content is told apart when read
    written(tmp_path / "q2" / "c.wav", 30)
    written(tmp_path / "q2" / "old.wav", 3 * 3600)  # hours before the call
    written(tmp_path / "q2" / "c.wav.part", 10)  # still being written
    written(tmp_path / ".trash" / "d.wav", 10)  # hidden
    platform = adapter_for(target(tmp_path))
    found = platform.find_recordings(CALL, *WINDOW)
    assert [(r.name, r.call_id, r.format) for r in found] == \
        [("q1/a", None, "wav"), ("q1/b", None, "mp3"), ("q2/c", None, "wav")]
    stored = found[0].created_utc  # when it was last written: retention counts from it
    assert stored is not None and abs((stored - NOW).total_seconds() + 50) < 0.01
    written(tmp_path / "q3" / f"x-{CALL}.wav", 3 * 3600, CALL)  # holds the Call-ID: the call's
    assert [r.call_id for r in platform.find_recordings(CALL, *WINDOW)] == [CALL]


def test_a_template_without_the_call_id_narrows_by_the_names_time_or_the_files(
        tmp_path: Path) -> None:
    unique = f"{int((NOW - timedelta(seconds=40)).timestamp())}.17"
    written(tmp_path / f"1001-{unique}.wav", 3 * 3600)  # its name says when, not its mtime
    written(tmp_path / f"1002-{int((NOW - timedelta(hours=3)).timestamp())}.4.wav", 20)
    by_name = adapter_for(target(tmp_path, recording_name="{caller}-{uniqueid}"))
    assert [r.name for r in by_name.find_recordings(CALL, *WINDOW)] == [f"1001-{unique}"]
    written(tmp_path / "agent-2001.wav", 20)
    written(tmp_path / "agent-2002.wav", 3 * 3600)
    by_mtime = adapter_for(target(tmp_path, recording_name="agent-{caller}"))
    assert [r.name for r in by_mtime.find_recordings(None, *WINDOW)] == ["agent-2001"]
    written(tmp_path / "agent-2003.wav", 20)
    assert [r.name for r in by_mtime.find_recordings(None, *WINDOW, {"caller": "2003"})] == ["agent-2003"]


def test_wav_wins_over_another_format_of_the_same_name(tmp_path: Path) -> None:
    written(tmp_path / f"rec-{CALL}.mp3", 20, CALL)
    written(tmp_path / f"rec-{CALL}.wav", 20, CALL)
    platform = adapter_for(target(tmp_path, recording_name="rec-{call_id}"))
    assert [r.format for r in platform.find_recordings(CALL, *WINDOW)] == ["wav"]
    only_mp3 = adapter_for(target(tmp_path, recording_name="rec-{call_id}", extensions=["mp3"]))
    assert [r.format for r in only_mp3.find_recordings(CALL, *WINDOW)] == ["mp3"]


def test_a_missing_folder_file_or_unsafe_name_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"recording folder .*/not-mounted does not exist or is "
                                          r"not a folder \(hint: is the share mounted"):
        adapter_for(target(tmp_path / "not-mounted")).find_recordings(CALL, *WINDOW)
    written(tmp_path / f"rec-{CALL}.wav", 20, CALL)
    platform = adapter_for(target(tmp_path))
    found = platform.find_recordings(CALL, *WINDOW)[0]
    assert platform.get_recording("rec-gone") is None
    (tmp_path / f"rec-{CALL}.wav").unlink()
    with pytest.raises(TargetError, match=rf"recording rec-{CALL} is no longer there"):
        platform.fetch(found, tmp_path / "work")
    with pytest.raises(TargetError, match="points outside the folder"):
        platform.get_recording("../../etc/passwd")


def test_what_a_folder_cannot_show_is_not_supported_and_retention_is_the_profiles(
        tmp_path: Path) -> None:
    written(tmp_path / f"rec-{CALL}.wav", 20, CALL)
    profile = target(tmp_path, retention_days=190)
    platform = adapter_for(profile)
    rec = platform.find_recordings(CALL, *WINDOW)[0]
    with pytest.raises(NotSupported, match=r"decided by the file share .* cannot test through a "
                                           r"mounted folder, .*require_auth: false"):
        platform.fetch_unauthenticated(rec)
    assert platform.retention_days() is None
    declared = (190, "adapter.retention_days in /profiles/directory.yaml")
    assert retention_source(profile, platform) == declared
    with pytest.raises(NotSupported, match="no clock to move"):
        platform.set_clock_offset(191)
    with pytest.raises(NotSupported):
        platform.purge()
    assert platform.queue_state() is None


# -- the recording check through this adapter ------------------------------------------------
def test_a_file_named_after_the_call_passes_the_recording_check(tmp_path: Path) -> None:
    share = tmp_path / "share"
    written(share / day(NOW) / f"1001-{CALL}.wav", 20, CALL)
    written(share / day(NOW) / "1002-another-call.wav", 10)
    platform = adapter_for(target(share, recording_name=DATED, recording_timezone="Asia/Shanghai"))
    verdict = check_found(platform, CALL, tmp_path / "work", require_auth=False, now=NOW)
    assert (verdict.found_by, verdict.name) == ("SIP Call-ID", f"{day(NOW)}/1001-{CALL}")
    assert verdict.problems == [] and verdict.figures["unauthenticated_status"] is None
    with pytest.raises(NotSupported, match="decided by the file share"):  # the step's default
        check_found(platform, CALL, tmp_path / "work2", now=NOW)


def test_a_candidate_by_modification_time_is_proven_by_its_marker(tmp_path: Path) -> None:
    share = tmp_path / "share"
    for name, ago, whose in (("a", 50, "earlier"), ("b", 40, CALL), ("c", 30, "later")):
        written(share / f"{name}.wav", ago, whose)
    verdict = check_found(adapter_for(target(share)), CALL, tmp_path / "work", require_auth=False, now=NOW)
    assert (verdict.found_by, verdict.name, verdict.problems) == ("time window and marker", "b", [])


# -- profiles -------------------------------------------------------------------------------
def test_the_example_profile_loads_and_builds_the_adapter() -> None:
    platform = adapter_for(load_target(EXAMPLE))
    assert isinstance(platform, DirectoryPlatform)
    assert platform.folder == Path("/mnt/cc-recordings") and platform.extensions == ("wav", "mp3")
    assert platform.names.carries_call_id and platform.retention_days() is None


def test_a_bad_directory_adapter_section_is_reported_at_load(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: directory\n"
                       "  folders: /mnt/rec\n  recording_name: rec-{callid}\n"
                       "  extensions: [.wav]\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert f"{profile}:5:3: adapter.folders: not a field of the directory adapter" in text
    assert "did you mean 'folder'?" in text
    assert "adapter: missing required field 'folder'" in text
    assert f"{profile}:6:" in text and "adapter.recording_name: a recording name uses" in text
    assert "adapter.extensions[0]: an extension is letters and digits, without the dot" in text
