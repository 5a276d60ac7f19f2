"""Recordings in the formats platforms write, decoded and checked like the reference's WAV.

One synthetic two-party call (each party's marker, with the other party
talking over it, as in test_marker.py) is encoded with sox and ffmpeg into
each format; the files get a neutral name, so the format is told from the
content alone.  Each is decoded, its markers found, and the recording check
and the retention proof run on it as the expect_recording step runs them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from harness.audio.marker import ALPHABET, marker_for, render
from harness.audio.pcm import RATE, FloatArray
from harness.audio.recording import read_recording, recording_format
from harness.audio.tone import sine
from harness.audio.wav import read_wav, write_wav
from harness.checks.recording import Bridged, Expectation, analyse, judge, measurements, sha256_of
from harness.checks.retention import prove_retention
from harness.errors import AudioError
from tests.checks.test_recording_checks import MemoryPlatform

CALL = "fmt-4b1e9a@127.0.0.1"
SECONDS = 6.0
CALLER_AT, AGENT_AT = 0.70, 2.90
MARKERS = {p: marker_for(CALL, p) for p in ("caller", "agent")}
FFMPEG = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i"]

# name: (how it is made from the mix, or the caller and agent tracks; the format as measured)
FORMATS: dict[str, tuple[list[str], str]] = {
    "wav-pcm": ([], "PCM 16-bit, 8000 Hz, 1 channel(s)"),
    "wav-ulaw": (["sox", "{mix}", "-e", "u-law", "{out}.wav"], "µ-law 8-bit, 8000 Hz, 1 channel(s)"),
    "wav-alaw": (["sox", "{mix}", "-e", "a-law", "{out}.wav"], "A-law 8-bit, 8000 Hz, 1 channel(s)"),
    "gsm": (["sox", "{mix}", "{out}.gsm"], "GSM 6.10 (raw, Asterisk gsm), 8000 Hz, 1 channel(s)"),
    "wav49": ([*FFMPEG, "{mix}", "-c:a", "libgsm_ms", "{out}.wav"],
              "GSM 6.10 in WAV (WAV49), 8000 Hz, 1 channel(s)"),
    "mp3": ([*FFMPEG, "{mix}", "-c:a", "libmp3lame", "-b:a", "16k", "{out}.mp3"],
            "MP3 (MPEG-2.5 Layer III), 8000 Hz, 1 channel(s)"),
    "opus": ([*FFMPEG, "{mix}", "-c:a", "libopus", "-application", "voip", "-b:a", "16k",
              "{out}.ogg"], "Opus in Ogg, 8000 Hz, 1 channel(s)"),
    "vorbis": ([*FFMPEG, "{mix}", "-c:a", "libvorbis", "{out}.ogg"],
               "Vorbis in Ogg, 8000 Hz, 1 channel(s)"),
    "stereo": (["sox", "-M", "{caller}", "{agent}", "{out}.wav"],
               "PCM 16-bit, 8000 Hz, 2 channel(s)"),
}
NATIVE = ("wav-pcm", "wav-ulaw", "wav-alaw", "stereo")  # read in-process by read_wav


def place(*parts: tuple[FloatArray, float]) -> FloatArray:
    out = np.zeros(round(SECONDS * RATE), dtype=np.float32)
    for signal, start in parts:
        at = round(start * RATE)
        out[at : at + signal.size] += signal[: out.size - at]
    return out


def make(command: list[str], out: Path, **paths: Path) -> Path:
    """Run an encoder; the result is renamed ``out`` (no telling suffix)."""
    suffix = Path(command[-1]).suffix
    encoded = out.with_name(out.name + suffix)
    args = [str(encoded) if a == command[-1] else a.format(**paths) for a in command]
    subprocess.run(args, check=True, timeout=60, capture_output=True)
    encoded.rename(out)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, prompts: dict[str, FloatArray]
          ) -> dict[str, Path]:
    """Each format of one call: the caller's marker under agent_hello, the agent's under digit_one."""
    folder = tmp_path_factory.mktemp("formats")
    caller = place((prompts["greeting"][: 2 * RATE], 0.0), (render(MARKERS["caller"]), CALLER_AT),
                   (prompts["digit_one"], 2.6))
    agent = place((prompts["agent_hello"], 0.5), (render(MARKERS["agent"]), AGENT_AT))
    tracks = {"mix": folder / "mix.wav", "caller": folder / "caller.wav", "agent": folder / "agent.wav"}
    for name, samples in (("mix", caller + agent), ("caller", caller), ("agent", agent)):
        write_wav(tracks[name], samples)
    made = {"wav-pcm": shutil.copy(tracks["mix"], folder / "wav-pcm.rec")}
    for name, (command, _) in FORMATS.items():
        if command:
            made[name] = make(command, folder / f"{name}.rec", **tracks)
    return {name: Path(path) for name, path in made.items()}


def expectation(sha: str) -> Expectation:
    return Expectation(("caller", "agent"), Bridged(10.0, 10.0 + SECONDS, "agent answer to hang-up"),
                       1.0, sha, 401)


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_is_told_from_its_content_and_decoded(files: dict[str, Path], name: str
                                                          ) -> None:
    decoded = read_recording(files[name])
    assert str(decoded.format) == FORMATS[name][1] == str(recording_format(files[name]))
    assert decoded.duration_s == pytest.approx(SECONDS, abs=0.04)
    assert len(decoded.channels) == (2 if name == "stereo" else 1)
    assert decoded.mix.dtype == np.float32 and decoded.notes == ()


@pytest.mark.parametrize("name", FORMATS)
def test_the_recording_check_passes_on_each_format(files: dict[str, Path], name: str) -> None:
    path = files[name]
    a = analyse(path, MARKERS)
    assert a.markers["caller"].found and a.markers["agent"].found
    assert a.markers["caller"].start_s == pytest.approx(CALLER_AT, abs=0.015)
    assert a.markers["agent"].start_s == pytest.approx(AGENT_AT, abs=0.015)
    assert a.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # the bytes, not the audio
    problems, notes = judge(a, expectation(a.sha256))
    assert problems == []
    assert notes == ([f"recorded as {FORMATS[name][1]}, not 8 kHz mono"] if name == "stereo" else [])
    figures = measurements(a, expectation(a.sha256))
    assert figures["format"] == FORMATS[name][1] and figures["size"] == path.stat().st_size


@pytest.mark.parametrize("name", NATIVE)
def test_wav_is_read_as_it_always_was(files: dict[str, Path], name: str) -> None:
    decoded = read_recording(files[name])
    assert decoded.format.native
    assert np.array_equal(decoded.mix, read_wav(files[name])[0])


@pytest.mark.parametrize("name", FORMATS)
def test_the_retention_proof_holds_for_each_format(files: dict[str, Path], name: str,
                                                   tmp_path: Path) -> None:
    platform = MemoryPlatform(tmp_path, 190)
    rec = platform.add(name, files[name].read_bytes())
    fetched = platform.fetch(rec, tmp_path)  # named .wav whatever it holds
    assert str(analyse(fetched, MARKERS).format) == FORMATS[name][1]
    proof = prove_retention(platform, rec, sha256_of(fetched), tmp_path, 190, 183)
    assert proof.problems() == [] and proof.purged_past_policy is True


def test_stereo_reports_each_channel(files: dict[str, Path]) -> None:
    a = analyse(files["stereo"], MARKERS)
    assert a.heard_in == {"caller": "mix", "agent": "mix"}
    channels = measurements(a, expectation(a.sha256))["channels"]
    assert [c["channel"] for c in channels] == [1, 2]
    assert [{p: m["found"] for p, m in c["markers"].items()} for c in channels] == [
        {"caller": True, "agent": False}, {"caller": False, "agent": True}]
    assert all(c["active_s"] > 1.0 for c in channels)


def test_a_marker_lost_in_the_mix_is_found_in_its_channel(files: dict[str, Path],
                                                          tmp_path: Path) -> None:
    """The agent's side drowns the caller's marker in the mix; the caller's channel still holds it."""
    caller, _ = read_wav(files["stereo"], channel=0)
    agent, _ = read_wav(files["stereo"], channel=1)
    unused = next(f for i, f in enumerate(ALPHABET) if i not in MARKERS["caller"].code)
    agent = agent + place((sine(unused, 0.6, -6.0), CALLER_AT - 0.05))  # 4x the marker's energy
    for side, samples in (("c", caller), ("a", agent)):
        write_wav(tmp_path / f"{side}.wav", samples)
    path = make(["sox", "-M", "{c}", "{a}", "{out}.wav"], tmp_path / "loud.rec",
                c=tmp_path / "c.wav", a=tmp_path / "a.wav")
    a = analyse(path, MARKERS)
    assert a.heard_in == {"caller": "channel 1", "agent": "mix"}
    assert a.markers["caller"].found and a.markers["caller"].start_s == pytest.approx(CALLER_AT,
                                                                                     abs=0.015)
    assert judge(a, expectation(a.sha256))[0] == []
    figures = measurements(a, expectation(a.sha256))["markers"]["caller"]
    assert figures["heard_in"] == "channel 1" and figures["found"] is True


def test_an_unknown_format_is_named_with_its_first_bytes(tmp_path: Path) -> None:
    path = tmp_path / "r.wav"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(AudioError, match=r"r\.wav: not a recording format the harness reads "
                       r"\(208 bytes read, first bytes 89 50 4e 47 0d 0a 1a 0a 00"):
        read_recording(path)


def cut(source: Path, size: int, dest: Path, tail: bytes = b"") -> Path:
    dest.write_bytes(source.read_bytes()[:size] + tail)
    return dest


def test_empty_truncated_and_damaged_files_are_named(files: dict[str, Path], tmp_path: Path
                                                     ) -> None:
    cases = {
        cut(files["wav-pcm"], 0, tmp_path / "empty"): "the recording is empty (0 bytes)",
        cut(files["wav49"], 30, tmp_path / "w49"): "a WAV file without a complete 'fmt ' chunk",
        cut(files["opus"], 100, tmp_path / "opus"): (
            "ffmpeg could not decode this Opus in Ogg file (100 bytes; damaged or cut short?): "
            "exit 1, End of file"),
        cut(files["mp3"], 40, tmp_path / "id3", b"\0" * 200): (
            "an ID3 tag with no MPEG audio frame after it (at byte 240: end of file)"),
        cut(files["mp3"], 200, tmp_path / "mp3"): "ffmpeg could not decode this MP3",
        cut(files["vorbis"], 200, tmp_path / "vorbis", bytes(range(256)) * 20): (
            "ffmpeg could not decode this Vorbis in Ogg file"),
    }
    for path, message in cases.items():
        with pytest.raises(AudioError) as caught:
            read_recording(path)
        assert str(caught.value).startswith(f"{path}: {message}")


def test_a_recording_cut_short_is_measured_short_and_says_so(files: dict[str, Path],
                                                             tmp_path: Path) -> None:
    for name, size in (("opus", 6000), ("gsm", 33 * 150 + 7), ("wav49", 5000)):
        path = cut(files[name], size, tmp_path / name)
        a = analyse(path, MARKERS)
        problems, notes = judge(a, expectation(a.sha256))
        assert a.duration_s < 4.0 and any("录音需完整" in p for p in problems)
        assert any(n.endswith("the end of the recording is missing") for n in notes), notes


def fake_ffmpeg(folder: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder.mkdir()
    (folder / "ffmpeg").write_text("#!/bin/sh\n" + script)
    (folder / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")


def test_ffmpeg_missing_names_its_package(files: dict[str, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AudioError, match=r"decoding GSM 6\.10 in WAV \(WAV49\) needs ffmpeg, which "
                       r"is not installed \(Debian package ffmpeg: sudo apt-get install -y ffmpeg"):
        read_recording(files["wav49"])
    assert read_recording(files["wav-ulaw"]).duration_s == SECONDS  # WAV needs no ffmpeg


def test_ffmpeg_failing_is_reported_with_its_last_line(files: dict[str, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ffmpeg(tmp_path / "bin", "echo 'first' >&2\necho '[gsm @ 0x55d0e1] bad frame 7' >&2\n"
                "exit 3\n", monkeypatch)
    with pytest.raises(AudioError, match=r"\): exit 3, \[gsm\] bad frame 7$"):
        read_recording(files["gsm"])


def test_a_decode_that_hangs_is_cut_at_its_deadline(files: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ffmpeg(tmp_path / "bin", 'sleep 60 &\necho $! > "$SLEEPER"\nwait\n', monkeypatch)
    monkeypatch.setenv("SLEEPER", str(tmp_path / "sleeper.pid"))
    started = time.monotonic()
    with pytest.raises(AudioError, match=r"ffmpeg did not finish decoding this MP3 .* within "
                       r"0\.5s; it was stopped"):
        read_recording(files["mp3"], timeout=0.5)
    assert time.monotonic() - started < 5.0
    sleeper = int((tmp_path / "sleeper.pid").read_text())  # what ffmpeg started went with it
    deadline = time.monotonic() + 5.0
    while Path(f"/proc/{sleeper}").exists() and time.monotonic() < deadline:
        if Path(f"/proc/{sleeper}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{sleeper}").exists() or \
        Path(f"/proc/{sleeper}/stat").read_text().split()[2] == "Z"


def test_the_real_ffmpeg_is_held_to_its_deadline_too(files: dict[str, Path]) -> None:
    with pytest.raises(AudioError, match=r"within 0s; it was stopped"):
        read_recording(files["opus"], timeout=0.0)


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.wav")
    with pytest.raises(AudioError, match=r"pipe\.wav: not a regular file"):
        read_recording(tmp_path / "pipe.wav")
