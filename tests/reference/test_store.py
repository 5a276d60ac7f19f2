"""The reference platform's recording store: files, metadata, retention and faults.

WAVs are written with stdlib `wave`; aging uses the store's clock offset,
the same device the API exposes, never a sleep.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import subprocess
import sys
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixtures.reference.store import (
    NAME_PATTERN,
    InvalidName,
    Recording,
    RecordingExists,
    RecordingMeta,
    RecordingStore,
    RetentionPolicy,
    iso_z,
    recording_name,
)
from fixtures.reference.wavfile import InvalidWav

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def write_wav(path: Path, seconds: float, rate: int = 8000, freq: float = 440.0) -> Path:
    """A sine tone as 16-bit mono PCM."""
    frames = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(frames))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return path


def meta(call_id: str, started: datetime = T0, **extra: str) -> RecordingMeta:
    fields = {"caller": "1001", "did": "500", "queue": "sales", "agent": "2001", **extra}
    return RecordingMeta(
        sip_call_id=call_id,
        started_utc=started,
        ended_utc=started + timedelta(seconds=2),
        **fields,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(tmp_path / "store")


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "call.wav", 2.5)


# -- names ---------------------------------------------------------------------------
def test_recording_name_is_stable_and_keeps_only_safe_characters() -> None:
    call_id = "a84b4c76e66710@pc33.example.com"
    assert recording_name(call_id) == "rec-a84b4c76e66710_pc33.example.com"
    assert recording_name(call_id, filtered=True) == "rec-a84b4c76e66710pc33examplecom"
    assert recording_name(call_id) == recording_name(call_id)
    assert recording_name("x y/../z;tag=1") == "rec-x_y_.._z_tag_1"
    assert NAME_PATTERN.fullmatch(recording_name("ümlaut/\\:*?"))


def test_a_very_long_call_id_still_gives_a_unique_valid_name() -> None:
    first, second = recording_name("a" * 300 + "1"), recording_name("a" * 300 + "2")
    assert first != second
    assert NAME_PATTERN.fullmatch(first) and NAME_PATTERN.fullmatch(second)


def test_an_empty_call_id_has_no_name() -> None:
    with pytest.raises(InvalidName):
        recording_name("")


def names(found: list[Recording]) -> list[str]:
    return [r.name for r in found]


# -- add, get, search, delete -----------------------------------------------------------
def test_add_stores_the_file_with_its_hash_size_and_duration(
    store: RecordingStore, wav: Path
) -> None:
    added = store.add(wav, meta("call-1@host"))
    assert added == store.get("rec-call-1_host")
    assert added.sip_call_id == "call-1@host"
    assert (added.format, added.rate, added.channels) == ("wav", 8000, 1)
    assert added.duration_s == pytest.approx(2.5)
    assert added.bytes == wav.stat().st_size
    assert added.sha256 == sha256(wav)
    stored = store.file_path(added.name)
    assert stored == store.root / "files" / "rec-call-1_host.wav"
    assert stored.read_bytes() == wav.read_bytes()
    assert added.started_utc == "2025-03-01T09:30:00.000Z"
    assert added.created_utc.endswith("Z") and wav.exists()


def test_add_can_move_the_source_and_leaves_no_temporary_files(
    store: RecordingStore, wav: Path
) -> None:
    store.add(wav, meta("moved"), remove_source=True)
    assert not wav.exists()
    assert [p.name for p in store.files_dir.iterdir()] == ["rec-moved.wav"]


def test_add_refuses_a_second_recording_for_the_same_call(
    store: RecordingStore, wav: Path, tmp_path: Path
) -> None:
    first = store.add(wav, meta("dup"))
    with pytest.raises(RecordingExists, match="rec-dup"):
        store.add(write_wav(tmp_path / "other.wav", 1.0, freq=600), meta("dup"))
    assert sha256(store.file_path("rec-dup")) == first.sha256
    assert [p.name for p in store.files_dir.iterdir()] == ["rec-dup.wav"]


def test_add_refuses_a_wav_that_is_not_8khz_mono_16bit(
    store: RecordingStore, tmp_path: Path
) -> None:
    with pytest.raises(InvalidWav, match="8000 Hz"):
        store.add(write_wav(tmp_path / "wide.wav", 1.0, rate=16000), meta("wide"))
    assert store.list() == [] and list(store.files_dir.iterdir()) == []


def test_meta_needs_timezone_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        meta("naive", started=datetime(2025, 1, 1))


def test_search_by_call_id_time_range_and_parties(store: RecordingStore, tmp_path: Path) -> None:
    for i, agent in enumerate(["2001", "2002", "2001"]):
        source = write_wav(tmp_path / f"{i}.wav", 0.5)
        store.add(source, meta(f"c{i}", T0 + timedelta(hours=i), agent=agent, caller=f"10{i}"))
    assert names(store.search(call_id="c1")) == ["rec-c1"]
    assert names(store.search(since=T0 + timedelta(hours=1))) == ["rec-c1", "rec-c2"]
    assert names(store.search(until=T0 + timedelta(hours=1))) == ["rec-c0"]
    assert names(store.search(since=T0, until=T0 + timedelta(hours=2))) == ["rec-c0", "rec-c1"]
    assert names(store.search(agent="2001")) == ["rec-c0", "rec-c2"]
    assert names(store.search(caller="102", queue="sales")) == ["rec-c2"]
    assert names(store.search(call_id="nope")) == []
    assert names(store.list()) == ["rec-c0", "rec-c1", "rec-c2"]


def test_delete_removes_row_and_file(store: RecordingStore, wav: Path) -> None:
    added = store.add(wav, meta("gone"))
    assert store.delete(added.name) is True
    assert store.get(added.name) is None
    assert not store.file_path(added.name).exists()
    assert store.delete(added.name) is False


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "/etc/passwd", "a/b", "", ".hidden"])
def test_malformed_names_are_refused(store: RecordingStore, name: str) -> None:
    with pytest.raises(InvalidName):
        store.file_path(name)
    with pytest.raises(InvalidName):
        store.get(name)


def test_a_symlink_out_of_files_is_refused(store: RecordingStore, tmp_path: Path) -> None:
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"secret")
    (store.files_dir / "rec-link.wav").symlink_to(outside)
    with pytest.raises(InvalidName, match="outside"):
        store.file_path("rec-link")


# -- clock and retention ------------------------------------------------------------------
def test_retention_defaults_to_190_days_and_is_shared(store: RecordingStore) -> None:
    assert store.retention == RetentionPolicy(190)
    store.set_retention(RetentionPolicy(200))
    assert RecordingStore(store.root).retention.days == 200
    with pytest.raises(ValueError):
        RetentionPolicy(0)


def test_clock_offset_moves_now_for_every_process(store: RecordingStore) -> None:
    store.set_clock_offset(1.5)
    other = RecordingStore(store.root)
    assert other.clock_offset_days == 1.5
    ahead = other.now() - datetime.now(UTC)
    assert timedelta(days=1.5) - timedelta(seconds=5) < ahead <= timedelta(days=1.5)
    with pytest.raises(ValueError):
        store.set_clock_offset(float("nan"))


@pytest.mark.parametrize(("day", "kept"), [(182, True), (190, True), (191, False)])
def test_purge_keeps_190_days_by_the_offset_clock(
    store: RecordingStore, wav: Path, day: int, kept: bool
) -> None:
    added = store.add(wav, meta("aging"))
    store.set_clock_offset(day)
    assert store.purge() == ([] if kept else [added.name])
    assert (store.get(added.name) is not None) is kept
    assert store.file_path(added.name).exists() is kept


def test_purge_boundary_counts_whole_days(store: RecordingStore, wav: Path) -> None:
    added = store.add(wav, meta("edge"), created_utc=T0)
    assert added.created_utc == iso_z(T0)
    assert store.purge(T0 + timedelta(days=190)) == []
    assert store.purge(T0 + timedelta(days=191) - timedelta(milliseconds=1)) == []
    assert store.purge(T0 + timedelta(days=191)) == ["rec-edge"]


def test_fault_retention_short_declares_90_days(tmp_path: Path, wav: Path) -> None:
    faulty = RecordingStore(tmp_path / "store", faults={"retention_short"})
    assert faulty.retention.days == 90
    faulty.add(wav, meta("short"))
    faulty.set_clock_offset(91)
    assert faulty.purge() == ["rec-short"]


def test_fault_retention_purges_early_deletes_at_day_31_while_declaring_190(
    tmp_path: Path, wav: Path
) -> None:
    faulty = RecordingStore(tmp_path / "store", faults={"retention_purges_early"})
    faulty.add(wav, meta("early"))
    assert faulty.retention.days == 190
    faulty.set_clock_offset(30)
    assert faulty.purge() == []
    faulty.set_clock_offset(31)
    assert faulty.purge() == ["rec-early"]
    assert faulty.retention.days == 190


def test_fault_rec_altered_changes_the_file_after_it_is_hashed(tmp_path: Path, wav: Path) -> None:
    faulty = RecordingStore(tmp_path / "store", faults={"rec_altered"})
    added = faulty.add(wav, meta("altered"))
    stored = faulty.file_path(added.name)
    assert added.sha256 == sha256(wav)
    assert sha256(stored) != added.sha256
    assert stored.stat().st_size == added.bytes
    with wave.open(str(stored), "rb") as reopened:  # still a playable WAV
        assert reopened.getnframes() == 20000


def test_unrelated_faults_change_nothing(tmp_path: Path, wav: Path) -> None:
    store = RecordingStore(tmp_path / "store", faults={"ivr_wrong_route", "rec_unauthenticated"})
    added = store.add(wav, meta("clean"))
    assert sha256(store.file_path(added.name)) == added.sha256
    assert store.retention.days == 190


# -- several processes ------------------------------------------------------------------------
_WORKER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from fixtures.reference.store import RecordingMeta, RecordingStore
root, source, worker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
store = RecordingStore(root)
now = datetime.now(UTC)
for i in range(10):
    store.add(source, RecordingMeta(f"w{worker}-{i}@host", "1001", "500", now, now))
"""


def test_several_processes_add_while_another_reads(store: RecordingStore, wav: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(store.root), str(wav), str(n)], env=env
        )
        for n in range(4)
    ]
    while any(w.poll() is None for w in workers):
        for found in store.list():
            assert store.file_path(found.name).exists()
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    stored = store.list()
    assert len(stored) == 40
    assert {sha256(store.file_path(r.name)) for r in stored} == {sha256(wav)}
