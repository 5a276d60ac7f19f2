"""Segments of a reference prompt, and the best chain of them in a capture.

A menu an IVR plays is often several files back to back ("for sales press",
"one", ...), each with its own silences, and the pauses between the files are
not the reference's: the platform, its file cache and the jitter buffer each
add or remove some. So a reference is cut at its internal pauses into
*segments* (:func:`split_at_pauses`), and :func:`chain_segments` finds them
in the capture in order, each at the lag where it fits best while every
pause may shrink to nothing or grow by ``max_gap_change``.

The chain maximises the energy-weighted sum of the segments' normalised
correlations (dynamic programming over lags, with a sliding maximum for the
allowed pause lengths), so one loud segment cannot drag a quiet one to a
wrong place, and a segment that is not there at all still gets a place (at
its best wrong fit), which its score then shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d
from scipy.signal import correlate

from harness.audio.frames import frame_len, frame_levels, runs

_F64 = npt.NDArray[np.float64]
PAUSE_FLOOR_DB = 40.0
"""A 10 ms frame this far below the reference's loudest frame is part of a pause."""
MIN_PAUSE_S = 0.08
"""Shorter quiet stretches are within a word (a stop's closure), not between segments."""
MIN_SEGMENT_S = 0.25
"""A shorter segment joins its neighbour: too short to place on its own reliably."""
_FRAME_S = 0.010


@dataclass(frozen=True)
class Segment:
    """Samples ``start..end`` (exclusive) of the reference, between two pauses."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def split_at_pauses(reference: _F64, rate: int) -> list[Segment]:
    """Cut ``reference`` at its internal pauses; leading and trailing quiet is left out.

    A reference without quiet frames (music, or one recorded over a noisy
    line) is one segment, the whole of it.
    """
    size = frame_len(_FRAME_S, rate)
    with np.errstate(divide="ignore"):
        levels = frame_levels(reference, size)
    if levels.size == 0 or not np.isfinite(levels.max()):
        return [Segment(0, reference.size)]
    loud = runs(levels > levels.max() - PAUSE_FLOOR_DB)
    spans = [[a * size, (b + 1) * size] for a, b in loud]
    if loud[-1][1] == levels.size - 1:
        spans[-1][1] = reference.size  # the part-frame at the end goes with the last frame
    merged = [spans[0]]
    for lo, hi in spans[1:]:
        if lo - merged[-1][1] < MIN_PAUSE_S * rate:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return _join_short([Segment(lo, hi) for lo, hi in merged], int(MIN_SEGMENT_S * rate))


def _join_short(segments: list[Segment], min_size: int) -> list[Segment]:
    """Join each segment shorter than ``min_size`` to the neighbour across the shorter pause."""
    segments = list(segments)
    while len(segments) > 1:
        short = [i for i, s in enumerate(segments) if s.size < min_size]
        if not short:
            break
        i = min(short, key=lambda k: segments[k].size)
        before = segments[i].start - segments[i - 1].end if i > 0 else None
        after = segments[i + 1].start - segments[i].end if i + 1 < len(segments) else None
        j = i - 1 if after is None or (before is not None and before <= after) else i + 1
        lo, hi = sorted((i, j))
        segments[lo : hi + 1] = [Segment(segments[lo].start, segments[hi].end)]
    return segments


def chain_segments(
    c: _F64,
    r: _F64,
    segments: list[Segment],
    energy: _F64,
    region: tuple[int, int],
    max_gap_change: int,
    max_overlap: int,
) -> list[int]:
    """Capture lags (sample of each segment's first sample) of the best in-order chain.

    Only lags within ``region`` of the capture are searched. Between two
    segments the pause may shrink to ``-max_overlap`` (a slip) or grow by
    ``max_gap_change`` samples. ``energy`` is the capture's cumulative energy.
    """
    lo, hi = region
    weights = [float(r[s.start : s.end] @ r[s.start : s.end]) for s in segments]
    nccs = [_ncc_at_lags(c, r[s.start : s.end], energy, lo, hi) for s in segments]
    best = [weights[0] * nccs[0]]
    for k in range(1, len(segments)):
        steps = _steps(segments, k, max_gap_change, max_overlap)
        best.append(weights[k] * nccs[k] + _reachable(best[k - 1], *steps, nccs[k].size))
    lags = [int(np.argmax(best[-1]))]
    for k in range(len(segments) - 1, 0, -1):
        shortest, longest = _steps(segments, k, max_gap_change, max_overlap)
        first = max(0, lags[0] - longest)
        last = max(first, min(best[k - 1].size - 1, lags[0] - shortest))
        lags.insert(0, first + int(np.argmax(best[k - 1][first : last + 1])))
    return [lo + lag for lag in lags]


def _steps(
    segments: list[Segment], k: int, max_gap_change: int, max_overlap: int
) -> tuple[int, int]:
    """Shortest and longest distance from segment ``k - 1``'s start to segment ``k``'s."""
    previous, pause = segments[k - 1], segments[k].start - segments[k - 1].end
    return previous.size - max_overlap, previous.size + pause + max_gap_change


def _reachable(previous: _F64, shortest: int, longest: int, size: int) -> _F64:
    """For each lag ``t < size``: the best of ``previous`` at ``t - longest .. t - shortest``.

    ``-inf`` where no lag of ``previous`` is in reach.
    """
    width = longest - shortest + 1
    padded = np.concatenate((np.full(longest, -np.inf), previous, np.full(size, -np.inf)))
    window_max = maximum_filter1d(
        padded, size=width, mode="constant", cval=-np.inf, origin=-(width // 2)
    )
    # window_max[j] = max(padded[j : j + width]); lag t reaches previous[t - longest ..],
    # which is padded[t .. t + width - 1]
    reach: _F64 = window_max[:size]
    return reach


def _ncc_at_lags(c: _F64, piece: _F64, energy: _F64, lo: int, hi: int) -> _F64:
    """|NCC| of ``piece`` against the capture at every lag in ``lo .. hi - piece.size``."""
    products = correlate(c[lo:hi], piece, mode="valid", method="fft")
    windows = np.maximum(energy[lo + piece.size : hi + 1] - energy[lo : hi - piece.size + 1], 0.0)
    floor = piece.size * 1e-10
    denominator = np.sqrt(max(float(piece @ piece), 1e-30) * np.maximum(windows, floor))
    scores: _F64 = np.where(windows > floor, np.abs(products) / denominator, 0.0)
    return scores
