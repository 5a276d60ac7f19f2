"""WAV files: read captures that may still be growing, write atomically.

PJSIP's recorder writes the RIFF and ``data`` sizes only when it closes the
file, so while a call is up the header says the data is 0 bytes long. The
reader therefore walks the chunks itself (the stdlib ``wave`` module trusts
the header) and, when the ``data`` size is 0 or runs past the end of the
file, takes the bytes that are there, cut to whole sample frames.
"""

from __future__ import annotations

import os
import struct
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.audio.g711 import alaw_decode, ulaw_decode
from harness.audio.pcm import RATE, FloatArray, Samples, resample, to_int16
from harness.errors import AudioError

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # 0 while PJSIP records; ~0 from streaming writers


@dataclass(frozen=True)
class _Format:
    code: int
    channels: int
    rate: int
    bits: int

    @property
    def frame_bytes(self) -> int:
        return self.channels * max(1, self.bits // 8)


def read_wav(
    path: str | os.PathLike[str], rate: int | None = RATE, channel: int | None = None
) -> tuple[FloatArray, int]:
    """Read a WAV file as mono float32 in [-1, 1] and return ``(samples, rate)``.

    Works on a file another process is still writing (data size 0 or wrong in
    the header). The audio is resampled to ``rate`` (8000 Hz by default;
    ``None`` keeps the file's rate). Channels are averaged unless ``channel``
    picks one. Reads 8/16/24/32-bit PCM, 32/64-bit float, A-law and µ-law.
    Raises :class:`AudioError` for a file that is not (yet) a WAV file.
    """
    data = Path(path).read_bytes()
    fmt, payload = _parse(data, str(path))
    frames = _decode(fmt, payload, str(path))
    mono = _pick_channel(frames, channel, str(path))
    if rate is None:
        return mono, fmt.rate
    return resample(mono, fmt.rate, rate), rate


def read_capture(path: str | os.PathLike[str] | None) -> FloatArray:
    """What a phone has written so far of a call's capture (it may still be writing it), as
    8 kHz mono: empty while there is no file, or no WAV header yet."""
    if path is None:
        return np.zeros(0, dtype=np.float32)
    try:
        return read_wav(path)[0]
    except (AudioError, OSError):
        return np.zeros(0, dtype=np.float32)


def write_wav(path: str | os.PathLike[str], samples: Samples, rate: int = RATE) -> None:
    """Write mono ``samples`` (int16, or float in [-1, 1]) as 16-bit PCM, atomically.

    The file is written under a temporary name in the same folder and moved
    into place, so a reader never sees a half-written file.
    """
    target = Path(path)
    pcm = to_int16(samples)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm.astype("<i2").tobytes())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a capture is for other readers too
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _parse(data: bytes, name: str) -> tuple[_Format, bytes]:
    """Find the format and the data bytes, trusting the ``data`` size only when it fits."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a RIFF/WAVE file ({len(data)} bytes)")
    fmt: _Format | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(data[body : body + size], name)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError(f"{name}: 'data' chunk before 'fmt ' chunk")
            end = len(data) if size in _UNKNOWN_SIZES else min(body + size, len(data))
            payload = data[body:end]
            return fmt, payload[: len(payload) - len(payload) % fmt.frame_bytes]
        offset = body + size + (size & 1)  # RIFF chunks are padded to even length
    if fmt is None:
        raise AudioError(
            f"{name}: no complete 'fmt ' chunk ({len(data)} bytes; still being created?)"
        )
    return fmt, b""  # header written, no audio yet


def _parse_fmt(body: bytes, name: str) -> _Format:
    if len(body) < 16:
        raise AudioError(f"{name}: truncated 'fmt ' chunk ({len(body)} bytes)")
    code, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    if code == _EXTENSIBLE and len(body) >= 26:
        code = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1:
        raise AudioError(f"{name}: bad 'fmt ' chunk: {channels} channels at {rate} Hz")
    return _Format(code, channels, rate, bits)


def _decode(fmt: _Format, payload: bytes, name: str) -> FloatArray:
    """Decode interleaved frames to float32 of shape (frames, channels)."""
    samples = _decode_flat(fmt, payload, name)
    return samples.reshape(-1, fmt.channels)


def _decode_flat(fmt: _Format, payload: bytes, name: str) -> FloatArray:
    raw = np.frombuffer(payload, dtype=np.uint8)
    if fmt.code == _PCM and fmt.bits == 8:
        return ((raw.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if fmt.code == _PCM and fmt.bits == 16:
        return np.frombuffer(payload, dtype="<i2").astype(np.float32) / 32768.0
    if fmt.code == _PCM and fmt.bits == 24:
        wide = raw.reshape(-1, 3).astype(np.int32)
        value = (wide[:, 0] | (wide[:, 1] << 8) | (wide[:, 2] << 16)) << 8 >> 8
        return (value.astype(np.float32) / 8388608.0).astype(np.float32)
    if fmt.code == _PCM and fmt.bits == 32:
        return (np.frombuffer(payload, dtype="<i4") / 2147483648.0).astype(np.float32)
    if fmt.code == _FLOAT and fmt.bits in (32, 64):
        floats = np.frombuffer(payload, dtype="<f4" if fmt.bits == 32 else "<f8")
        return floats.astype(np.float32)
    if fmt.code in (_ALAW, _ULAW) and fmt.bits == 8:
        decoded = alaw_decode(raw) if fmt.code == _ALAW else ulaw_decode(raw)
        return decoded.astype(np.float32) / 32768.0
    raise AudioError(f"{name}: unsupported WAV encoding {fmt.code:#x} with {fmt.bits} bits")


def _pick_channel(frames: FloatArray, channel: int | None, name: str) -> FloatArray:
    if channel is None:
        return frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]
    if not 0 <= channel < frames.shape[1]:
        raise AudioError(f"{name}: no channel {channel} (the file has {frames.shape[1]})")
    return np.ascontiguousarray(frames[:, channel])
