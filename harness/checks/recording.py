"""The recording check (录音存储): a downloaded recording against the call it should hold.

Pure functions over a file, the call's timelines and what the platform said;
the step handler (``harness.steps.recorded``) finds and downloads
the recording.  The file may be in any format ``harness.audio.recording``
reads (WAV, GSM, MP3, Ogg; mixed or one party per channel); its hash is of
the bytes downloaded, never of the decoded audio.  Problems are written in a
reviewer's words, each ending with the licence term it concerns; notes are
facts worth a look that do not fail the check (a recording at 16 kHz is
still a recording).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio.frames import frame_levels
from harness.audio.marker import Marker, MarkerHit, scan
from harness.audio.pcm import RATE, FloatArray
from harness.audio.recording import (
    DECODE_TIMEOUT,
    DecodedRecording,
    RecordingFormat,
    read_recording,
)
from harness.sip.timeline import CallTimeline

ACTIVE_DBFS = -45.0  # a 20 ms frame louder than this is sound, not line noise
MIN_ACTIVE_S = 0.2  # less sound than this in the whole file: the recording is silent
BOTH_PARTIES = "录音需包含双方"
COMPLETE = "录音需完整"
UNCHANGED = "录音不得被篡改"
AUTHENTICATED = "录音调取须经身份认证"
RECORDED = "录音存储"
MIX = "mix"


@dataclass(frozen=True)
class Bridged:
    """When the two parties were connected, on the phones' monotonic clock."""

    start_t: float
    end_t: float
    basis: str  # how start and end were taken, for the reader

    @property
    def seconds(self) -> float:
        return self.end_t - self.start_t


@dataclass(frozen=True)
class ChannelAnalysis:
    """One channel of a recording that keeps the parties apart (one per channel)."""

    active_s: float
    peak_dbfs: float
    markers: dict[str, MarkerHit]  # party -> best fit in this channel alone


@dataclass(frozen=True)
class RecordingAnalysis:
    """What was measured on the downloaded file."""

    format: RecordingFormat
    duration_s: float
    active_s: float  # seconds of 20 ms frames above ACTIVE_DBFS, in the mix
    peak_dbfs: float
    sha256: str
    size: int
    markers: dict[str, MarkerHit] = field(default_factory=dict)  # party -> best fit
    heard_in: dict[str, str] = field(default_factory=dict)  # party -> MIX or "channel N"
    channels: tuple[ChannelAnalysis, ...] = ()  # each channel of a multi-channel file
    decode_notes: tuple[str, ...] = ()  # damage the decoder got past


@dataclass(frozen=True)
class Expectation:
    """What the recording of this call must be."""

    parties: tuple[str, ...]
    bridged: Bridged | None
    max_duration_error: float
    platform_sha256: str | None  # what the platform says the file hashes to
    unauthenticated_status: int | None  # None: not asked


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bridged(caller: CallTimeline, agent: CallTimeline | None, agent_heard: float | None = None,
            answering: str = "agent") -> Bridged | None:
    """Agent answer to the first hang-up; without an agent leg, from when the caller heard its agent
    (a load run's agents, ``harness/audio/pilot.py``), else from the caller's answer, to hang-up.
    ``answering``: who answered on ``agent``'s leg (an outbound call's customer)."""
    end = caller.last("call", state="DISCONNECTED")
    if agent is not None:
        answered = agent.last("call", state="CONFIRMED")
        agent_end = agent.last("call", state="DISCONNECTED")
        ends = [e.t for e in (end, agent_end) if e is not None]
        if answered is not None and ends:
            return Bridged(answered.t, min(ends), f"{answering} answer to hang-up")
    if agent_heard is not None and end is not None:
        return Bridged(agent_heard, end.t, "agent first heard to hang-up (no agent leg known)")
    answered = caller.last("call", state="CONFIRMED")
    if answered is None or end is None:
        return None
    return Bridged(answered.t, end.t, "platform answer to hang-up (no agent leg known)")


def marker_fits(recording: DecodedRecording, markers: dict[str, Marker]
                ) -> dict[str, dict[str, MarkerHit]]:
    """``{where: {party: best fit}}`` in the mix and, for several channels, in each channel."""
    sources = {MIX: recording.mix}
    if len(recording.channels) > 1:
        sources |= {f"channel {i}": ch for i, ch in enumerate(recording.channels, 1)}
    fits = {}
    for where, samples in sources.items():
        hits = scan(samples, list(markers.values()))
        fits[where] = {party: hits[m.id] for party, m in markers.items()}
    return fits


def _best_fit(fits: dict[str, dict[str, MarkerHit]], party: str) -> tuple[MarkerHit, str]:
    """The mix's fit when the marker is found there, else a channel's, else the closest miss."""
    options = [(hits[party], where) for where, hits in fits.items()]
    found = [option for option in options if option[0].found]
    return found[0] if found else max(options, key=lambda option: option[0].score)


def _sound(samples: FloatArray) -> tuple[float, float]:
    """Seconds of 20 ms frames above ACTIVE_DBFS, and the loudest frame's level."""
    levels = frame_levels(samples, RATE // 50)
    active = float(np.count_nonzero(levels > ACTIVE_DBFS)) / 50
    peak = float(np.max(levels)) if levels.size else float("-inf")
    return round(active, 2), round(peak, 1)


def analyse(path: Path, markers: dict[str, Marker], timeout: float = DECODE_TIMEOUT
            ) -> RecordingAnalysis:
    """Measure a downloaded recording: format, length, sound, hash, and each party's marker.

    Raises :class:`harness.errors.AudioError` when the file cannot be decoded
    (within ``timeout`` seconds, for formats ffmpeg decodes).
    """
    recording = read_recording(path, timeout)  # at 8 kHz; the mix is what a listener hears
    active, peak = _sound(recording.mix)
    fits = marker_fits(recording, markers)
    best = {party: _best_fit(fits, party) for party in markers}
    several = len(recording.channels) > 1
    channels = tuple(ChannelAnalysis(*_sound(samples), fits[f"channel {i}"])
                     for i, samples in enumerate(recording.channels, 1)) if several else ()
    return RecordingAnalysis(
        format=recording.format,
        duration_s=round(recording.duration_s, 3),
        active_s=active,
        peak_dbfs=peak,
        sha256=sha256_of(path),  # of the bytes the platform served, not of the decoded audio
        size=path.stat().st_size,
        markers={party: hit for party, (hit, _) in best.items()},
        heard_in={party: where for party, (_, where) in best.items()} if several else {},
        channels=channels,
        decode_notes=recording.notes,
    )


def _names(parties: list[str]) -> str:
    said = [f"the {p}'s" for p in parties]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]


def _marker_problem(found: list[str], missing: list[str]) -> str | None:
    if not missing:
        return None
    if not found:
        whose = " nor ".join(f"the {p}'s" for p in missing)
        which = f"does not hold {whose}" if len(missing) == 1 else f"holds neither {whose}"
        return f"{which} marker: it does not hold this call's audio ({BOTH_PARTIES})"
    lost = " and ".join(f"the {p}'s audio" for p in missing)
    return f"holds only {_names(found)} marker: {lost} is missing ({BOTH_PARTIES})"


def _duration_problem(a: RecordingAnalysis, e: Expectation) -> str | None:
    if e.bridged is None:
        return None
    gap = a.duration_s - e.bridged.seconds
    if abs(gap) <= e.max_duration_error:
        return None
    if gap < 0:
        return (f"lasts {a.duration_s:.1f}s but the call was bridged for {e.bridged.seconds:.1f}s "
                f"({e.bridged.basis}): the last {-gap:.1f}s of the conversation are not recorded "
                f"(allowed ±{e.max_duration_error:g}s; {COMPLETE})")
    return (f"lasts {a.duration_s:.1f}s, {gap:.1f}s longer than the {e.bridged.seconds:.1f}s the "
            f"call was bridged ({e.bridged.basis}; allowed ±{e.max_duration_error:g}s; {COMPLETE})")


def judge(a: RecordingAnalysis, e: Expectation) -> tuple[list[str], list[str]]:
    """The problems (each fails the check) and the notes, most telling first."""
    problems: list[str | None] = []
    if a.active_s < MIN_ACTIVE_S:
        problems.append(f"is silent: only {a.active_s:.2f}s above {ACTIVE_DBFS:.0f} dBFS "
                        f"(loudest {a.peak_dbfs:.0f} dBFS) in {a.duration_s:.1f}s ({BOTH_PARTIES})")
    found = [p for p in e.parties if a.markers.get(p) is not None and a.markers[p].found]
    problems.append(_marker_problem(found, [p for p in e.parties if p not in found]))
    problems.append(_duration_problem(a, e))
    if e.platform_sha256 is not None and e.platform_sha256.lower() != a.sha256:
        problems.append(f"differs from what the platform stored: the file downloaded hashes to "
                        f"SHA-256 {a.sha256[:16]}..., the platform recorded {e.platform_sha256[:16]}... "
                        f"({UNCHANGED})")
    if e.unauthenticated_status is not None and e.unauthenticated_status < 300:
        problems.append(f"can be downloaded without credentials (HTTP {e.unauthenticated_status}): "
                        f"anyone who can reach the API can fetch it ({AUTHENTICATED})")
    notes = []
    if (a.format.rate, a.format.channels) != (RATE, 1):
        notes.append(f"recorded as {a.format}, not 8 kHz mono")
    notes.extend(a.decode_notes)
    notes.extend(f"channel {i} of {len(a.channels)} is silent: only {c.active_s:.2f}s above "
                 f"{ACTIVE_DBFS:.0f} dBFS" for i, c in enumerate(a.channels, 1)
                 if c.active_s < MIN_ACTIVE_S)
    return [p for p in problems if p], notes


def _fit_figures(hit: MarkerHit) -> dict[str, Any]:
    return {"found": hit.found, "at_s": hit.start_s, "score": round(hit.score, 3),
            "weakest_slot": round(hit.min_share, 3)}


def _channel_figures(a: RecordingAnalysis) -> dict[str, Any]:
    """Each channel's sound and markers, for a file with a channel per party."""
    if not a.channels:
        return {}
    return {"channels": [{"channel": i, "active_s": c.active_s, "peak_dbfs": c.peak_dbfs,
                          "markers": {p: _fit_figures(h) for p, h in c.markers.items()}}
                         for i, c in enumerate(a.channels, 1)]}


def measurements(a: RecordingAnalysis, e: Expectation) -> dict[str, Any]:
    """The figures behind the verdict, for the records and the report."""
    return {
        "format": str(a.format),
        "duration_s": a.duration_s,
        "bridged_s": round(e.bridged.seconds, 3) if e.bridged else None,
        "bridged_basis": e.bridged.basis if e.bridged else None,
        "active_s": a.active_s,
        "peak_dbfs": a.peak_dbfs,
        "sha256": a.sha256,
        "platform_sha256": e.platform_sha256,
        "size": a.size,
        "markers": {p: {**_fit_figures(h), **({"heard_in": a.heard_in[p]} if p in a.heard_in else {})}
                    for p, h in a.markers.items()},
        **_channel_figures(a),
        "unauthenticated_status": e.unauthenticated_status,
    }
