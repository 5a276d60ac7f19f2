"""Per-call audio markers: a short tone sequence unique to one call and one party.

A party plays its marker into the call; finding it in the platform's
recording ties the recording to that call and proves that party's audio was
recorded, without trusting the platform's file names or metadata.

A marker is ``SLOTS`` tones of ``SLOT_S`` each, from an alphabet of eight
frequencies between 1.7 and 3.3 kHz: inside the G.711 band, away from the
DTMF frequencies (697-1633 Hz), from call-progress tones (350-620 Hz), from
the 2100 Hz answer tone that disables echo cancellers and the 2600 Hz SF
tone, and above where most speech energy lies.  Consecutive tones differ, so
the code is ``8 * 7**5`` = 134,456 sequences, drawn from the SHA-256 of the
call's SIP Call-ID and the party's name.

Finding a marker does not decode blindly: the caller knows which markers
it expects (the candidates) and asks where each one fits best.  In each slot
the measure is the share of the expected frequency among the energies at the
eight alphabet frequencies (60 ms windows in the middle of each 80 ms slot):
a share does not depend on gain, G.711 noise sits ~35 dB under a tone, and
speech spreads its energy thinly over the alphabet (a voice over the marker
at the same level still leaves the expected tone well ahead).  A marker is
found where the *smallest* slot share reaches ``MIN_SLOT_SHARE``, so a
different marker, which differs in at least one slot, is not confused with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.audio.pcm import RATE, FloatArray, Samples, db_to_amplitude, to_float

ALPHABET = (1700.0, 1900.0, 2300.0, 2500.0, 2700.0, 2900.0, 3100.0, 3300.0)
"""The marker tone frequencies in Hz."""
SLOTS = 6
SLOT_S = 0.080
RAMP_S = 0.005  # raised-cosine edges: no clicks, no splatter into the other frequencies
LEVEL_DBFS = -12.0
WINDOW_S = 0.060  # analysis window, centred in the slot: tolerates 10 ms of timing error
HOP_S = 0.0025
MIN_SLOT_SHARE = 0.5  # every slot: the expected tone holds at least half the alphabet's energy
MIN_LEVEL_DBFS = -45.0  # and is a tone, not noise (after -12 dB of gain it is at -24 dBFS)

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Marker:
    """One party's marker on one call."""

    id: str  # "caller@<call-id>"
    call_id: str
    party: str
    code: tuple[int, ...]  # indices into ALPHABET

    @property
    def freqs(self) -> tuple[float, ...]:
        return tuple(ALPHABET[i] for i in self.code)

    @property
    def duration(self) -> float:
        return SLOTS * SLOT_S


@dataclass(frozen=True)
class MarkerHit:
    """Where a candidate marker fits a recording best, and how well."""

    start_s: float  # time of the marker's first sample in the recording
    score: float  # mean slot share, 0..1
    min_share: float  # the weakest slot's share
    level_dbfs: float  # the weakest slot's tone level

    @property
    def found(self) -> bool:
        return self.min_share >= MIN_SLOT_SHARE and self.level_dbfs >= MIN_LEVEL_DBFS


def _code(seed: str) -> tuple[int, ...]:
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    code = [value % len(ALPHABET)]
    value //= len(ALPHABET)
    for _ in range(SLOTS - 1):
        step = 1 + value % (len(ALPHABET) - 1)  # never the previous tone again
        value //= len(ALPHABET) - 1
        code.append((code[-1] + step) % len(ALPHABET))
    return tuple(code)


PARTY_ORDER = ("caller", "agent", "customer")


def marker_for(call_id: str, party: str) -> Marker:
    """The marker of ``party`` (caller, agent, customer...) on the call with SIP Call-ID ``call_id``.

    Deterministic; on one call the parties' markers all differ: each party's code skips
    the codes of the parties before it in ``PARTY_ORDER`` (a party outside it, all of them).
    """
    if not call_id or not party:
        raise ValueError("a marker needs a call id and a party")
    earlier = PARTY_ORDER[:PARTY_ORDER.index(party)] if party in PARTY_ORDER else PARTY_ORDER
    taken = {marker_for(call_id, p).code for p in earlier}
    attempt = 0
    code = _code(f"{call_id}\0{party}")
    while code in taken:
        attempt += 1
        code = _code(f"{call_id}\0{party}\0{attempt}")
    return Marker(f"{party}@{call_id}", call_id, party, code)


def render(marker: Marker, level_dbfs: float = LEVEL_DBFS, rate: int = RATE) -> FloatArray:
    """The marker as float samples at ``rate``: ``SLOTS`` ramped tones, back to back."""
    n = round(SLOT_S * rate)
    ramp = round(RAMP_S * rate)
    envelope = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    envelope[:ramp], envelope[n - ramp :] = edge, edge[::-1]
    t = np.arange(n) / rate
    peak = db_to_amplitude(level_dbfs)
    slots = [peak * envelope * np.sin(2 * np.pi * f * t) for f in marker.freqs]
    return np.concatenate(slots).astype(np.float32)


def _alphabet_energy(x: _F64, rate: int) -> tuple[_F64, int]:
    """Energy at each alphabet frequency per window (K x windows), and the hop in samples."""
    size, hop = round(WINDOW_S * rate), max(1, round(HOP_S * rate))
    starts = np.arange(0, x.size - size + 1, hop)
    n = np.arange(x.size)
    energy = np.empty((len(ALPHABET), starts.size))
    for k, freq in enumerate(ALPHABET):
        sums = np.concatenate(([0j], np.cumsum(x * np.exp(-2j * np.pi * freq * n / rate))))
        energy[k] = np.abs(sums[starts + size] - sums[starts]) ** 2
    return energy, hop


def scan(samples: Samples, candidates: list[Marker], rate: int = RATE) -> dict[str, MarkerHit]:
    """The best fit of every candidate in ``samples`` (mono at ``rate``), found or not."""
    x = to_float(samples).astype(np.float64)
    slot, offset = round(SLOT_S * rate), round((SLOT_S - WINDOW_S) / 2 * rate)
    if x.size < SLOTS * slot:
        return {m.id: MarkerHit(0.0, 0.0, 0.0, float("-inf")) for m in candidates}
    energy, hop = _alphabet_energy(x, rate)
    share = energy / np.maximum(energy.sum(axis=0), 1e-20)
    size = round(WINDOW_S * rate)
    level = 20 * np.log10(np.maximum(2 * np.sqrt(energy) / size, 1e-12))
    per_slot, first = slot // hop, offset // hop
    count = share.shape[1] - (SLOTS - 1) * per_slot - first
    return {m.id: _best(m, share, level, per_slot, first, count, hop / rate) for m in candidates}


def _best(marker: Marker, share: _F64, level: _F64, per_slot: int, first: int, count: int,
          hop_s: float) -> MarkerHit:
    rows = [slice(first + i * per_slot, first + i * per_slot + count) for i in range(SLOTS)]
    shares = np.stack([share[k, r] for k, r in zip(marker.code, rows)])
    levels = np.stack([level[k, r] for k, r in zip(marker.code, rows)])
    score = shares.mean(axis=0)
    weakest = shares.min(axis=0)
    fits = (weakest >= MIN_SLOT_SHARE) & (levels.min(axis=0) >= MIN_LEVEL_DBFS)
    best = int(np.argmax(np.where(fits, score + 1.0, score)))  # a fit beats any near-miss
    at = _plateau_middle(score, best)
    return MarkerHit(round(at * hop_s, 4), float(score[best]), float(weakest[best]),
                     float(levels[:, best].min()))


def _plateau_middle(score: _F64, best: int, drop: float = 0.1) -> int:
    """The middle of the run of positions around ``best`` scoring within ``drop`` of it.

    The windows are shorter than the slots, so a marker scores almost as well
    a few milliseconds either side of its true start; speech over it moves the
    peak within that plateau, but not the plateau's middle.
    """
    good = score >= score[best] - drop
    first, last = best, best
    while first > 0 and good[first - 1]:
        first -= 1
    while last < score.size - 1 and good[last + 1]:
        last += 1
    return (first + last) // 2


def find_markers(samples: Samples, candidates: list[Marker], rate: int = RATE) -> dict[str, float]:
    """``{marker id: start second}`` for every candidate found in ``samples``."""
    return {mid: hit.start_s for mid, hit in scan(samples, candidates, rate).items() if hit.found}
