"""The recording check (录音存储): a downloaded recording against the call it should hold.

Pure functions over a file, the call's timelines and what the platform said;
the step handler (``harness.runner.steps.recording``) finds and downloads
the recording.  Problems are written in a reviewer's words, each ending with
the licence term it concerns; notes are facts worth a look that do not fail
the check (a recording at 16 kHz is still a recording).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.audio.frames import frame_levels
from harness.audio.marker import Marker, MarkerHit, scan
from harness.audio.pcm import RATE
from harness.audio.wav import read_wav
from harness.sip.timeline import CallTimeline

ACTIVE_DBFS = -45.0  # a 20 ms frame louder than this is sound, not line noise
MIN_ACTIVE_S = 0.2  # less sound than this in the whole file: the recording is silent
BOTH_PARTIES = "录音需包含双方"
COMPLETE = "录音需完整"
UNCHANGED = "录音不得被篡改"
AUTHENTICATED = "录音调取须经身份认证"
RECORDED = "录音存储"
_ENCODINGS = {1: "PCM", 3: "float", 6: "A-law", 7: "µ-law", 0xFFFE: "extensible"}


@dataclass(frozen=True)
class WavFacts:
    """A WAV file's format, from its ``fmt `` chunk."""

    encoding: str
    rate: int
    channels: int
    bits: int

    def __str__(self) -> str:
        return f"{self.encoding} {self.bits}-bit, {self.rate} Hz, {self.channels} channel(s)"


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
class RecordingAnalysis:
    """What was measured on the downloaded file."""

    facts: WavFacts | None
    duration_s: float
    active_s: float  # seconds of 20 ms frames above ACTIVE_DBFS
    peak_dbfs: float
    sha256: str
    size: int
    markers: dict[str, MarkerHit] = field(default_factory=dict)  # party -> best fit


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


def wav_facts(path: Path) -> WavFacts | None:
    """The format of a RIFF/WAVE file, or None when it is not one."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 8 <= len(head):
        chunk, size = struct.unpack_from("<4sI", head, offset)
        if chunk == b"fmt " and offset + 24 <= len(head):
            code, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", head, offset + 8)
            return WavFacts(_ENCODINGS.get(code, f"format {code:#x}"), rate, channels, bits)
        offset += 8 + size + (size & 1)
    return None


def bridged(caller: CallTimeline, agent: CallTimeline | None) -> Bridged | None:
    """Agent answer to the first hang-up; without an agent leg, the caller's answer to hang-up."""
    end = caller.last("call", state="DISCONNECTED")
    if agent is not None:
        answered = agent.last("call", state="CONFIRMED")
        agent_end = agent.last("call", state="DISCONNECTED")
        ends = [e.t for e in (end, agent_end) if e is not None]
        if answered is not None and ends:
            return Bridged(answered.t, min(ends), "agent answer to hang-up")
    answered = caller.last("call", state="CONFIRMED")
    if answered is None or end is None:
        return None
    return Bridged(answered.t, end.t, "platform answer to hang-up (no agent leg known)")


def analyse(path: Path, markers: dict[str, Marker]) -> RecordingAnalysis:
    """Measure a downloaded recording: format, length, sound, hash, and each party's marker."""
    facts = wav_facts(path)
    samples, _ = read_wav(path)  # at 8 kHz, channels averaged: the mix a listener hears
    levels = frame_levels(samples, RATE // 50)
    active = float(np.count_nonzero(levels > ACTIVE_DBFS)) / 50
    peak = float(np.max(levels)) if levels.size else float("-inf")
    hits = scan(samples, list(markers.values()))
    return RecordingAnalysis(
        facts=facts,
        duration_s=round(samples.size / RATE, 3),
        active_s=round(active, 2),
        peak_dbfs=round(peak, 1),
        sha256=sha256_of(path),
        size=path.stat().st_size,
        markers={party: hits[m.id] for party, m in markers.items()},
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
    if a.facts is None:
        notes.append("not a WAV file: format, rate and channels not checked")
    elif (a.facts.rate, a.facts.channels) != (RATE, 1):
        notes.append(f"recorded as {a.facts}, not 8 kHz mono")
    return [p for p in problems if p], notes


def measurements(a: RecordingAnalysis, e: Expectation) -> dict[str, Any]:
    """The figures behind the verdict, for the records and the report."""
    return {
        "format": str(a.facts) if a.facts else None,
        "duration_s": a.duration_s,
        "bridged_s": round(e.bridged.seconds, 3) if e.bridged else None,
        "bridged_basis": e.bridged.basis if e.bridged else None,
        "active_s": a.active_s,
        "peak_dbfs": a.peak_dbfs,
        "sha256": a.sha256,
        "platform_sha256": e.platform_sha256,
        "size": a.size,
        "markers": {p: {"found": h.found, "at_s": h.start_s, "score": round(h.score, 3),
                        "weakest_slot": round(h.min_share, 3)} for p, h in a.markers.items()},
        "unauthenticated_status": e.unauthenticated_status,
    }
