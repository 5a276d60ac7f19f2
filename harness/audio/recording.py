"""Recording files as platforms write them, decoded to the harness's 8 kHz samples.

Platforms store calls as WAV (16-bit PCM, µ-law, A-law; Asterisk's ``wav``),
GSM 6.10 in WAV (Asterisk's ``wav49``), raw GSM 6.10 (Asterisk's ``gsm``),
MP3, Ogg/Opus or Ogg/Vorbis, mixed to one channel or with one party per
channel.  The format is told from the file's first bytes, never from its
name: a download is named by whoever serves it.

WAV with PCM, float, A-law or µ-law samples is read in this process by
:func:`harness.audio.wav.read_wav`, as it always was.  Everything else is
decoded by ffmpeg (Debian package ``ffmpeg``) to 8 kHz signed 16-bit samples,
channels kept apart.  ffmpeg runs as a child process with a deadline and is
killed, with anything it started, when the deadline passes; pydub wraps the
same ffmpeg but its ``from_file`` takes no timeout, so we call ffmpeg directly.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.audio.pcm import RATE, FloatArray
from harness.audio.wav import read_wav
from harness.errors import AudioError

DECODE_TIMEOUT = 60.0
"""Seconds ffmpeg may take to decode one recording (an hour of MP3 takes about two)."""
READS = "WAV (PCM, float, A-law, µ-law, GSM 6.10), raw GSM 6.10, MP3, Ogg (Opus, Vorbis)"
"""The formats :func:`read_recording` reads, for messages."""

_HEAD = 65536  # bytes read to tell the format
_GSM_FRAME = 33  # a GSM 06.10 frame: 160 samples in 33 bytes, the first nibble 0xD
_WAV_NATIVE = {1: "PCM", 3: "float", 6: "A-law", 7: "µ-law"}  # what read_wav decodes
_WAV_FFMPEG = {0x31: "GSM 6.10 in WAV (WAV49)", 0x02: "MS ADPCM in WAV",
               0x11: "IMA ADPCM in WAV", 0x55: "MP3 in WAV"}
_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MPEG_NAMES = {3: "MPEG-1", 2: "MPEG-2", 0: "MPEG-2.5"}


@dataclass(frozen=True)
class RecordingFormat:
    """What a recording file is, from its header: encoding, rate and channels as stored."""

    encoding: str  # "PCM 16-bit", "GSM 6.10 in WAV (WAV49)", "Opus in Ogg"...
    rate: int
    channels: int
    demuxer: str  # ffmpeg's name for the container: wav, gsm, mp3, ogg
    native: bool = False  # read by read_wav in this process, without ffmpeg

    def __str__(self) -> str:
        return f"{self.encoding}, {self.rate} Hz, {self.channels} channel(s)"


@dataclass(frozen=True)
class DecodedRecording:
    """A recording as mono-mixed and per-channel float32 samples at :data:`RATE`."""

    path: Path
    format: RecordingFormat
    mix: FloatArray  # the channels averaged: what a listener hears
    channels: tuple[FloatArray, ...]  # one per channel; (mix,) for a mono file
    notes: tuple[str, ...] = ()  # damage the decoder got past (a cut-off end...)

    @property
    def duration_s(self) -> float:
        return self.mix.size / RATE


def recording_format(path: str | os.PathLike[str]) -> RecordingFormat:
    """The format of the recording at ``path``, told from its content.

    Raises :class:`AudioError` naming the file for an empty, truncated or
    unknown file (with its first bytes in hex) and for anything that is not a
    regular file (a FIFO would block the reader).
    """
    return _sniff(*_head(Path(path)), str(path))[0]


def read_recording(path: str | os.PathLike[str], timeout: float = DECODE_TIMEOUT
                   ) -> DecodedRecording:
    """Decode the recording at ``path`` to 8 kHz float32, mixed and per channel.

    ffmpeg, when needed, must finish within ``timeout`` seconds.  Raises
    :class:`AudioError` naming the file and what is wrong: an unknown format,
    ffmpeg missing or failing (its last message), an empty or truncated file,
    or a decode that did not finish in time.
    """
    file = Path(path)
    fmt, notes = _sniff(*_head(file), str(file))
    if fmt.native:
        return _read_native(file, fmt, notes)
    raw, complaints = _ffmpeg_decode(file, fmt, timeout)
    return _assemble(file, fmt, raw, notes + complaints)


# -- telling the format ---------------------------------------------------------------------
def _head(path: Path) -> tuple[bytes, int]:
    """The first bytes of a regular, non-empty file, and its size."""
    try:
        info = path.stat()
    except OSError as exc:
        raise AudioError(f"{path}: cannot read the recording: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise AudioError(f"{path}: not a regular file (a FIFO, device or folder): "
                         f"a recording must be a downloaded file")
    if info.st_size == 0:
        raise AudioError(f"{path}: the recording is empty (0 bytes)")
    with open(path, "rb") as f:
        return f.read(_HEAD), info.st_size


def _sniff(head: bytes, size: int, name: str) -> tuple[RecordingFormat, tuple[str, ...]]:
    """The format from the magic bytes, and any sign the file was cut short."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _sniff_wav(head, size, name)
    if head[:4] == b"OggS":
        return _sniff_ogg(head, name), _ogg_cut(Path(name), size)
    if head[:3] == b"ID3" or _mpeg_header(head, 0) is not None:
        return _sniff_mpeg(head, name), ()
    if _is_gsm(head):
        return _sniff_gsm(size, name)
    raise AudioError(f"{name}: not a recording format the harness reads ({len(head)} bytes "
                     f"read, first bytes {head[:16].hex(' ')}; it reads {READS})")


def _sniff_wav(head: bytes, size: int, name: str) -> tuple[RecordingFormat, tuple[str, ...]]:
    offset, fmt = 12, None
    while offset + 8 <= len(head):
        chunk, length = struct.unpack_from("<4sI", head, offset)
        if chunk == b"fmt ":
            if length < 16 or offset + 8 + length > len(head):
                break
            fmt = _wav_fmt(head[offset + 8 : offset + 8 + length], name)
        elif chunk == b"data":
            if fmt is None:
                break
            return fmt, _wav_cut(length, size - offset - 8)
        offset += 8 + length + (length & 1)
    if fmt is None:
        raise AudioError(f"{name}: a WAV file without a complete 'fmt ' chunk in its first "
                         f"{len(head)} bytes: truncated or damaged")
    if offset + 8 <= size or fmt.native:  # past the bytes read; or read_wav's "no audio yet"
        return fmt, ()
    raise AudioError(f"{name}: a WAV file ({fmt}) without a 'data' chunk: truncated or damaged")


def _wav_fmt(body: bytes, name: str) -> RecordingFormat:
    code, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    sub = struct.unpack_from("<H", body, 24)[0] if code == _EXTENSIBLE and len(body) >= 26 else code
    if channels < 1 or rate < 1:
        raise AudioError(f"{name}: a WAV file with a bad 'fmt ' chunk: {channels} channels at "
                         f"{rate} Hz")
    if sub in _WAV_NATIVE:  # named as the check always named them: the tag as written
        label = "extensible" if code == _EXTENSIBLE else _WAV_NATIVE[code]
        return RecordingFormat(f"{label} {bits}-bit", rate, channels, "wav", native=True)
    label = _WAV_FFMPEG.get(sub, f"WAV format tag {sub:#06x}")
    return RecordingFormat(label, rate, channels, "wav")


def _wav_cut(declared: int, present: int) -> tuple[str, ...]:
    if declared in _UNKNOWN_SIZES or declared <= present:
        return ()
    note = (f"its WAV header declares {declared} bytes of audio but the file holds {present}: "
            "the end of the recording is missing")
    return (note,)


def _sniff_ogg(head: bytes, name: str) -> RecordingFormat:
    if len(head) < 28:
        raise AudioError(f"{name}: an Ogg file cut short in its first page ({len(head)} bytes)")
    body = 27 + head[26]
    payload = head[body : body + 19]
    if payload[:8] == b"OpusHead" and len(payload) >= 16:
        rate = struct.unpack_from("<I", payload, 12)[0] or 48000  # input rate; 0: unspecified
        return RecordingFormat("Opus in Ogg", rate, max(1, payload[9]), "ogg")
    if payload[:7] == b"\x01vorbis" and len(payload) >= 16:
        rate = struct.unpack_from("<I", payload, 12)[0]
        return RecordingFormat("Vorbis in Ogg", rate, max(1, payload[11]), "ogg")
    raise AudioError(f"{name}: an Ogg file whose stream is neither Opus nor Vorbis (its first "
                     f"bytes {payload[:8].hex(' ')}; it reads {READS})")


def _ogg_cut(path: Path, size: int) -> tuple[str, ...]:
    """A note when the last Ogg page is not flagged end-of-stream: the file was cut short."""
    with open(path, "rb") as f:
        f.seek(max(0, size - _HEAD))
        tail = f.read()
    last = tail.rfind(b"OggS")
    if last < 0 or (last + 5 < len(tail) and tail[last + 5] & 0x04):
        return ()
    return ("its last Ogg page is not marked end-of-stream: the end of the recording is missing",)


def _mpeg_header(head: bytes, at: int) -> tuple[str, int, int] | None:
    """(encoding, rate, channels) of an MPEG audio frame header at ``at``, or None."""
    if at + 4 > len(head) or head[at] != 0xFF or head[at + 1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[at + 1] >> 3) & 3, (head[at + 1] >> 1) & 3
    bitrate, rate_index = head[at + 2] >> 4, (head[at + 2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate == 15 or rate_index == 3:
        return None
    kind = f"{_MPEG_NAMES[version]} Layer {'I' * (4 - layer)}"
    encoding = f"MP3 ({kind})" if layer == 1 else f"MPEG audio ({kind})"
    return encoding, _MPEG_RATES[version][rate_index], 1 if head[at + 3] >> 6 == 3 else 2


def _sniff_mpeg(head: bytes, name: str) -> RecordingFormat:
    at = 0
    if head[:3] == b"ID3":
        if len(head) < 10:
            raise AudioError(f"{name}: an MP3 file cut short in its ID3 tag ({len(head)} bytes)")
        size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        at = 10 + size + (10 if head[5] & 0x10 else 0)
        while at < len(head) and head[at] == 0:  # padding after the tag
            at += 1
    found = _mpeg_header(head, at)
    if found is None:
        raise AudioError(f"{name}: an ID3 tag with no MPEG audio frame after it (at byte {at}: "
                         f"{head[at : at + 4].hex(' ') or 'end of file'}): truncated or damaged")
    return RecordingFormat(found[0], found[1], found[2], "mp3")


def _is_gsm(head: bytes) -> bool:
    return len(head) >= _GSM_FRAME and all(b >> 4 == 0xD for b in head[::_GSM_FRAME])


def _sniff_gsm(size: int, name: str) -> tuple[RecordingFormat, tuple[str, ...]]:
    fmt = RecordingFormat("GSM 6.10 (raw, Asterisk gsm)", RATE, 1, "gsm")
    if size % _GSM_FRAME == 0:
        return fmt, ()
    note = f"ends {size % _GSM_FRAME} bytes into a GSM frame: the end of the recording is missing"
    return fmt, (note,)


# -- decoding -------------------------------------------------------------------------------
def _read_native(path: Path, fmt: RecordingFormat, notes: tuple[str, ...]) -> DecodedRecording:
    mix, _ = read_wav(path)  # exactly the samples the check has always analysed
    if fmt.channels == 1:
        return DecodedRecording(path, fmt, mix, (mix,), notes)
    split = tuple(read_wav(path, channel=i)[0] for i in range(fmt.channels))
    return DecodedRecording(path, fmt, mix, split, notes)


def _ffmpeg_decode(path: Path, fmt: RecordingFormat, timeout: float
                   ) -> tuple[bytes, tuple[str, ...]]:
    """Raw s16le at RATE with ``fmt.channels`` interleaved, and what ffmpeg complained of."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioError(f"{path}: decoding {fmt.encoding} needs ffmpeg, which is not installed "
                         f"(Debian package ffmpeg: sudo apt-get install -y ffmpeg, or ./setup.sh)")
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", fmt.demuxer,
               "-i", f"file:{path.resolve()}", "-map", "0:a:0", "-ac", str(fmt.channels),
               "-ar", str(RATE), "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"]
    out, err, code = _run(command, timeout, path, fmt)
    last = _last_line(err, f"file:{path.resolve()}: ")
    if code != 0:
        raise AudioError(f"{path}: ffmpeg could not decode this {fmt.encoding} file "
                         f"({path.stat().st_size} bytes; damaged or cut short?): exit {code}, "
                         f"{last or 'no message'}")
    if len(out) < 2 * fmt.channels:
        raise AudioError(f"{path}: the {fmt.encoding} file holds no audio after its header "
                         f"(truncated?){': ' + last if last else ''}")
    return out, ((f"ffmpeg decoded it past damage: {last}",) if last else ())


def _run(command: list[str], timeout: float, path: Path, fmt: RecordingFormat
         ) -> tuple[bytes, str, int]:
    # Its own session, so that on the deadline the whole group goes, and the pipes close.
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=max(0.0, timeout))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AudioError(f"{path}: ffmpeg did not finish decoding this {fmt.encoding} file "
                         f"({path.stat().st_size} bytes) within {timeout:g}s; it was "
                         f"stopped") from None
    return out, err.decode("utf-8", "replace"), proc.returncode


def _last_line(stderr: str, prefix: str) -> str:
    """ffmpeg's last message; when that is only an errno string about the file, the one before."""
    lines = [re.sub(r"\[(\w+) @ 0x[0-9a-f]+\] ", r"[\1] ", line.strip())
             for line in stderr.splitlines()
             if line.strip() and not line.strip().startswith("Last message repeated")]
    if not lines:
        return ""
    if not lines[-1].startswith(prefix):
        return lines[-1]
    errno = lines[-1][len(prefix):]
    return f"{lines[-2]} ({errno})" if len(lines) > 1 else errno


def _assemble(path: Path, fmt: RecordingFormat, raw: bytes, notes: tuple[str, ...]
              ) -> DecodedRecording:
    width = fmt.channels
    frames = np.frombuffer(raw[: len(raw) - len(raw) % (2 * width)], dtype="<i2")
    frames = frames.reshape(-1, width)
    channels = tuple((frames[:, i].astype(np.float32) / 32768.0) for i in range(width))
    mix = channels[0] if width == 1 else frames.mean(axis=1, dtype=np.float32) / np.float32(32768.0)
    return DecodedRecording(path, fmt, mix.astype(np.float32), channels, notes)
