"""A prompt as heard, with the listening phone's own jitter-buffer slips taken out, for scoring.

The harness's phones play what they receive out through pjmedia's adaptive jitter buffer.
When a packet comes later than the phone's playout clock wants it, the buffer makes up a
frame; when it holds more than it needs, it throws one away. From there on the capture is
10-20 ms longer or shorter than what was sent, and the prompt in it no longer lines up with
its reference. PESQ (ITU-T P.862) re-aligns between utterances but scores a shift inside
one as distortion. Measured on loopback (the reference's greeting, RTP jitter 0.2 ms, no
packet lost, 36 calls, 24 of them beside ``stress --cpu 2``): every call without a slip
scored 3.88, and the 6 whose phone slipped during the greeting 3.25-3.58, as played; with
the slips taken out, 3.85-3.88.

Those slips are the listening phone's: its clock against the sender's on a busy host. The
jitter and loss limits judge the stream; the score is for what the platform sent: its
codec, level, noise, clipping, lost packets. So :func:`unslip` lines the capture up with
the reference 10 ms block by block (a Viterbi path over whole-block offsets) and lets the
offset change only near a slip the phone reported. Audio made up at a slip is left out;
audio thrown away stays missing. A packet lost on the wire is silence in its place (the
phones conceal nothing, ``Engine._no_concealment``), moves nothing after it, and is scored
as heard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import correlate

from harness.audio.pcm import RATE, Samples, to_float

_F64 = npt.NDArray[np.float64]

BLOCK_S = 0.010
"""The unit a jitter buffer slips by (pjmedia's 10 ms frame; a made-up 20 ms frame is two)."""
BEFORE_S, AFTER_S = 0.6, 0.3
"""A reported slip may have moved the capture this long before and after the phone reported
it: it looks every 0.1 s, and a discard spreads over a few frames (``WARP_REACH_S``)."""
SPARE_BLOCKS = 2  # offsets beyond the reported total that the path may take
REACH_CAP_S = 0.5  # ... which is taken as at most this (a 0.3 s sender stall makes up 0.3 s)


@dataclass(frozen=True)
class Unslipped:
    """The capture under the reference, sample for sample, and the slips taken out."""

    heard: _F64  # as long as the reference
    slips: tuple[tuple[float, int], ...]  # (reference second, ms: + made up and left out, - thrown away)

    def said(self) -> str:
        """``+20 ms at 0.52 s, -10 ms at 2.81 s``, or '' when nothing moved."""
        return ", ".join(f"{ms:+d} ms at {at:.2f} s" for at, ms in self.slips)


def unslip(capture: Samples, reference: Samples, start: int, slips: Sequence[tuple[float, float]],
           rate: int = RATE) -> Unslipped:
    """The stretch of ``capture`` that holds ``reference``, from sample ``start`` (where its first
    sample was found), with the jitter buffer's slips taken out.

    ``slips`` are ``(capture second, seconds slipped)`` as the phone reported them
    (``CallTimeline.slips_after`` the capture's first sample). Without any, the stretch is
    the capture from ``start`` as it is.
    """
    c, r = to_float(capture).astype(np.float64), to_float(reference).astype(np.float64)
    block = int(BLOCK_S * rate)
    if slips:
        start = _lined_up(c, r, start, 2 * block)
    n = -(-r.size // block)
    r = np.concatenate((r, np.zeros(n * block - r.size)))
    reach = sum(abs(amount) for _, amount in slips)
    k = round(min(reach, REACH_CAP_S) / BLOCK_S) + SPARE_BLOCKS if slips else 0
    shifts = np.arange(-k, k + 1) * block
    pad = k * block + block
    c = np.concatenate((np.zeros(pad), c, np.zeros(n * block + 2 * pad)))
    refs = r.reshape(n, block)
    firsts = start + pad + np.arange(n)[:, None] * block + np.arange(block)[None, :]  # (blocks, block)
    gain = _gain(c[firsts], refs)
    cost = np.stack([np.sum((c[firsts + shift] - gain * refs) ** 2, axis=1) for shift in shifts], axis=1)
    free = _may_move(n, start, block, slips, rate)
    path = _viterbi(cost, free, _penalty(refs, gain))
    heard = c[firsts + shifts[path][:, None]].reshape(-1)[: len(reference)]
    moved = tuple((i * block / rate, int((shifts[path[i]] - shifts[path[i - 1]]) * 1000 // rate))
                  for i in range(1, n) if path[i] != path[i - 1])
    return Unslipped(heard, moved)


def _lined_up(c: _F64, r: _F64, start: int, reach: int) -> int:
    """The capture sample within ``reach`` of ``start`` where the whole reference fits best.

    Where the prompt was found is where its first quarter-second fits, which a slip inside
    it leaves between the two places the audio before and after the slip lines up; the
    whole prompt fits best where most of it does, one of them, so that whole-block offsets
    from there reach the other.
    """
    lo = max(0, start - reach)
    stretch = c[lo: start + reach + r.size]
    if stretch.size < r.size:
        return start
    products = correlate(stretch, r, mode="valid", method="fft")
    energy = np.concatenate(([0.0], np.cumsum(stretch * stretch)))
    windows = energy[r.size:] - energy[:-r.size]
    fit = products / np.sqrt(np.maximum(windows, 1e-12))
    return lo + int(np.argmax(fit))


def _gain(heard: _F64, refs: _F64) -> float:
    """The level (and sign) of the capture against the reference, where nothing moved yet."""
    r2 = float(np.sum(refs * refs))
    if r2 == 0.0:
        return 1.0
    size = float(np.sqrt(float(np.sum(heard * heard)) / r2))
    return size if float(np.sum(heard * refs)) >= 0 else -size


def _penalty(refs: _F64, gain: float) -> float:
    """What moving the offset costs: the energy of an average spoken block. Staying a block
    off for a block or two of speech costs more; codec noise on a well-lined-up block costs
    a thousandth of it (G.711 is about 30 dB down)."""
    energy = np.sum(refs * refs, axis=1) * gain * gain
    spoken = energy[energy >= 0.1 * float(np.max(energy))] if np.any(energy) else energy
    return float(np.mean(spoken)) if spoken.size else 0.0


def _may_move(n: int, start: int, block: int, slips: Sequence[tuple[float, float]], rate: int) -> npt.NDArray[np.bool_]:
    """For each reference block, whether the offset may change as it begins."""
    free = np.zeros(n, dtype=bool)
    begins = (start + np.arange(n) * block) / rate  # capture seconds, before any slip
    for t, _ in slips:
        free |= (begins >= t - BEFORE_S) & (begins <= t + AFTER_S)
    return free


def _viterbi(cost: _F64, free: npt.NDArray[np.bool_], penalty: float) -> npt.NDArray[np.int_]:
    """The offset for each block that costs least overall: ``cost[block, offset]``, plus
    ``penalty`` each time the offset changes, which it may only where ``free``; a path that
    does not start at the middle offset (where the prompt was lined up) pays it once more."""
    n, m = cost.shape
    total = cost[0] + np.where(np.arange(m) == m // 2, 0.0, penalty)
    back = np.zeros((n, m), dtype=np.int_)
    for i in range(1, n):
        stay = total
        back[i] = np.arange(m)
        if free[i]:
            best = int(np.argmin(total))
            moved = total[best] + penalty
            take = moved < stay
            stay = np.where(take, moved, stay)
            back[i] = np.where(take, best, back[i])
        total = stay + cost[i]
    path = np.zeros(n, dtype=np.int_)
    path[-1] = int(np.argmin(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path
