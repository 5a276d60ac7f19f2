"""WAV reading, including files still being written, and atomic writing."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from harness.audio.tone import detect_tone, sine
from harness.audio.wav import read_capture, read_wav, write_wav
from harness.errors import AudioError


def _header(rate: int = 8000, channels: int = 1, bits: int = 16, data_size: int = 0) -> bytes:
    """A 44-byte PCM header as PJSIP writes it when recording starts (sizes 0)."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    riff = 0 if data_size == 0 else 36 + data_size
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", data_size))
    )


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    x = sine(440, 0.5, -6.0)
    write_wav(tmp_path / "a.wav", x)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == 8000
    assert y.dtype == np.float32 and y.size == x.size
    assert np.max(np.abs(y - x)) < 1 / 32768 * 1.01


def test_write_is_16_bit_mono_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_wav(tmp_path / "b.wav", np.zeros(80, np.int16), rate=16000)
    with wave.open(str(tmp_path / "b.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
    assert [p.name for p in tmp_path.iterdir()] == ["b.wav"]


def test_header_with_data_size_zero_reads_the_bytes_present(tmp_path: Path) -> None:
    pcm = (sine(1000, 0.3, -10.0) * 32767).astype("<i2").tobytes()
    path = tmp_path / "recording.wav"
    path.write_bytes(_header(data_size=0) + pcm + b"\x01")  # a half-written last sample
    samples, rate = read_wav(path)
    assert rate == 8000 and samples.size == 2400
    assert detect_tone(samples, 1000)


def test_data_size_past_end_of_file_is_cut_to_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "grown.wav"
    path.write_bytes(_header(data_size=1_000_000) + np.ones(100, "<i2").tobytes())
    assert read_wav(path)[0].size == 100


def test_header_only_gives_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "new.wav"
    path.write_bytes(_header())
    samples, rate = read_wav(path)
    assert samples.size == 0 and rate == 8000


def test_16_khz_file_is_resampled_to_8_khz(tmp_path: Path) -> None:
    write_wav(tmp_path / "wide.wav", sine(1000, 1.0, -10.0, rate=16000), rate=16000)
    samples, rate = read_wav(tmp_path / "wide.wav")
    assert rate == 8000 and samples.size == 8000
    [segment] = detect_tone(samples, 1000)
    assert abs(segment.level_dbfs + 10.0) < 0.5
    assert read_wav(tmp_path / "wide.wav", rate=None)[1] == 16000


def test_stereo_is_mixed_or_one_channel_picked(tmp_path: Path) -> None:
    left, right = np.full(80, 1000, np.int16), np.full(80, -3000, np.int16)
    path = tmp_path / "stereo.wav"
    frames = np.stack([left, right], axis=1).astype("<i2").tobytes()
    path.write_bytes(_header(channels=2, data_size=len(frames)) + frames)
    assert np.allclose(read_wav(path)[0], -1000 / 32768)
    assert np.allclose(read_wav(path, channel=1)[0], -3000 / 32768)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a RIFF/WAVE"),
        (b"RIFF\0\0\0\0WAVE", "no complete 'fmt '"),
        (b"OggS" * 8, "not a RIFF"),
    ],
)
def test_not_a_wav_file_raises_audio_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        read_wav(path)


def test_a_capture_not_yet_written_reads_as_no_audio_and_a_growing_one_as_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "capture.wav"
    assert read_capture(None).size == 0 and read_capture(path).size == 0  # no file yet
    path.write_bytes(b"RIF")  # the phone has opened it, no header yet
    assert read_capture(path).size == 0
    write_wav(path, sine(1000.0, 0.5, -12.0))
    grown = path.read_bytes()
    path.write_bytes(grown[: 44 + 2 * 1600])  # 0.2 s of it written so far
    assert read_capture(path).size == 1600
