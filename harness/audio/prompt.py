"""Prompt matching: is a known recording (the reference) in a capture, and where?

The measure is normalised cross-correlation of waveforms. The *rigid* score is

    max over lags of |<ref, window>| / (||ref|| * ||window||)

where ``window`` is the stretch of capture under the reference at that lag
(correlation by FFT, window energies from a cumulative sum). It ignores gain
and polarity; noise, codec error, clipping and lost packets lower it only by
the share of energy they change (10 dB SNR gives about 0.95).

A jitter buffer, though, may drop or repeat a packet mid-prompt, so the
rest of the prompt arrives 10-20 ms early or late and a rigid match falls to
the share that kept its place. The reported ``score`` therefore lets each
quarter-second piece of the reference *slip* up to ``max_slip_s`` from where
its neighbour landed (slips add up over a long prompt); pieces are scored against their own windows and summed the same
way, so ``score`` is still at most 1 and equals the rigid score when nothing
slipped (it is never reported below it).

Only whole windows count. A reference longer than the capture scores 0 and
a prompt that has only partly arrived at the end of a capture scores low (it
cannot be aligned with its own start). A prompt cut short and followed by
silence, however, keeps a score of about sqrt(share of energy played) -- 0.86
for half of a short prompt -- so ``coverage`` reports the share of the
reference's energy in pieces that match on their own (piece NCC >= 0.5), and
:func:`find_prompt` asks for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import correlate

from harness.audio.pcm import RATE, Samples, to_float

_F64 = npt.NDArray[np.float64]
_PIECE_S = 0.25
_PIECE_MATCH = 0.5  # a piece at or above this NCC on its own counts as heard
_MIN_RMS = 1e-5  # windows quieter than -100 dBFS are silence, not a match
_STRONG_PIECE = 0.1  # pieces under 10 % of mean energy do not place the edges


@dataclass(frozen=True)
class PromptMatch:
    """Where a reference prompt best fits in a capture, and how well (all 0..1)."""

    score: float  # normalised correlation, pieces may slip (module docstring)
    start_s: float  # capture time of the reference's first sample
    end_s: float  # capture time just after the reference's last sample
    rigid_score: float  # normalised correlation at one lag for the whole reference
    coverage: float  # share of the reference's energy in pieces that match on their own


@dataclass(frozen=True)
class _Piece:
    product: float  # <piece, window> at the chosen place
    window_energy: float
    energy: float  # of the reference piece
    ncc: float
    slip: int  # samples from the rigid place


def match_prompt(
    capture: Samples, reference: Samples, rate: int = RATE, max_slip_s: float = 0.060
) -> PromptMatch:
    """Return the best fit of ``reference`` inside ``capture`` (both mono at ``rate``).

    A capture shorter than the reference gives score 0 (a prompt still
    arriving must not match). ``max_slip_s=0`` keeps every piece at the rigid lag.
    """
    c, r = _as_f64(capture), _as_f64(reference)
    if not np.any(r):
        raise ValueError("the reference prompt is digital silence")
    if c.size < r.size:
        return PromptMatch(0.0, 0.0, r.size / rate, 0.0, 0.0)
    energy = np.concatenate(([0.0], np.cumsum(c * c)))  # window energy = one subtraction
    lag, rigid = _rigid_match(c, r, energy)
    pieces = _place_pieces(c, r, energy, lag, int(_PIECE_S * rate), int(max_slip_s * rate))
    first, last = _outer_slips(pieces)
    return PromptMatch(
        score=max(_combined_score(pieces), rigid),
        start_s=round((lag + first) / rate, 6),
        end_s=round((lag + last + r.size) / rate, 6),
        rigid_score=rigid,
        coverage=_coverage(pieces),
    )


MIN_COVERAGE = 0.9
"""Share of the reference's energy that must match piece by piece for a prompt to count as heard."""


def find_prompt(
    capture: Samples,
    reference: Samples,
    min_score: float = 0.8,
    rate: int = RATE,
    min_coverage: float = MIN_COVERAGE,
    max_slip_s: float = 0.060,
) -> PromptMatch | None:
    """Return the match of ``reference`` in ``capture`` if it is heard, else ``None``.

    Heard means a score of at least ``min_score`` and a coverage of at least
    ``min_coverage`` (so a prompt cut short does not pass on its first part).
    """
    found = match_prompt(capture, reference, rate, max_slip_s)
    return found if found.score >= min_score and found.coverage >= min_coverage else None


def _as_f64(samples: Samples) -> _F64:
    return to_float(samples).astype(np.float64)


def _window_energy(energy: _F64, lo: int, hi: int, size: int) -> _F64:
    """Energies of the windows of ``size`` samples starting at ``lo..hi`` inclusive."""
    return np.maximum(energy[lo + size : hi + size + 1] - energy[lo : hi + 1], 0.0)


def _ncc(products: _F64, ref_energy: float, window_energy: _F64, size: int) -> _F64:
    """Normalised correlation for each lag; silent windows score 0."""
    floor = size * _MIN_RMS**2
    denominator = np.sqrt(max(ref_energy, 1e-30) * np.maximum(window_energy, floor))
    return np.where(window_energy > floor, np.abs(products) / denominator, 0.0)


def _rigid_match(c: _F64, r: _F64, energy: _F64) -> tuple[int, float]:
    """Best lag and its score with one lag for the whole reference."""
    products = correlate(c, r, mode="valid", method="fft")
    windows = _window_energy(energy, 0, c.size - r.size, r.size)
    scores = _ncc(products, float(r @ r), windows, r.size)
    lag = int(np.argmax(scores))
    return lag, float(min(1.0, scores[lag]))


def _place_pieces(
    c: _F64, r: _F64, energy: _F64, lag: int, piece_len: int, max_slip: int
) -> list[_Piece]:
    """Cut ``r`` into pieces of about ``piece_len`` and place each where it fits best.

    Slips add up: every packet a jitter buffer drops or repeats moves the rest
    of the prompt, and a bridged call passes two jitter buffers.  So each piece
    may slip up to ``max_slip`` from where its *neighbour* landed, walking out
    from the piece that fits best at the rigid lag; each still has to match on
    its own, which a different prompt's pieces do not.
    """
    bounds = np.array_split(np.arange(r.size), max(1, round(r.size / max(1, piece_len))))
    rigid = [_place(c, r[idx], energy, lag + int(idx[0]), 0) for idx in bounds]
    if max_slip <= 0:
        return rigid
    anchor = max(range(len(rigid)), key=lambda i: (rigid[i].ncc, rigid[i].energy))
    placed: list[_Piece | None] = [None] * len(bounds)

    def place(i: int, drift: int) -> _Piece:
        at = lag + int(bounds[i][0])
        centre = min(max(at + drift, 0), c.size - bounds[i].size)
        found = _place(c, r[bounds[i]], energy, centre, max_slip)
        return _Piece(found.product, found.window_energy, found.energy, found.ncc, found.slip + centre - at)

    placed[anchor] = place(anchor, 0)
    for i in range(anchor + 1, len(bounds)):
        placed[i] = place(i, placed[i - 1].slip)  # type: ignore[union-attr]
    for i in range(anchor - 1, -1, -1):
        placed[i] = place(i, placed[i + 1].slip)  # type: ignore[union-attr]
    return [p for p in placed if p is not None]


def _place(c: _F64, piece: _F64, energy: _F64, at: int, max_slip: int) -> _Piece:
    """Best place for ``piece`` within ``max_slip`` samples of ``at``."""
    piece_energy = float(piece @ piece)
    if max_slip <= 0 or piece_energy <= piece.size * _MIN_RMS**2:
        lo = hi = at  # a pause in the prompt says nothing about timing: it stays put
    else:
        lo, hi = max(0, at - max_slip), min(c.size - piece.size, at + max_slip)
    products = correlate(c[lo : hi + piece.size], piece, mode="valid", method="fft")
    windows = _window_energy(energy, lo, hi, piece.size)
    nccs = _ncc(products, piece_energy, windows, piece.size)
    best = int(np.argmax(nccs))
    return _Piece(
        float(products[best]), float(windows[best]), piece_energy, float(nccs[best]), lo + best - at
    )


def _combined_score(pieces: list[_Piece]) -> float:
    """Sum of |<piece, window>| over ||ref|| * sqrt(sum of window energies): at most 1.

    Cauchy-Schwarz, piece by piece and then over the pieces, bounds it by 1.
    """
    ref_energy = sum(p.energy for p in pieces)
    window_energy = sum(p.window_energy for p in pieces)
    if window_energy <= 0.0:
        return 0.0
    return min(
        1.0, sum(abs(p.product) for p in pieces) / float(np.sqrt(ref_energy * window_energy))
    )


def _coverage(pieces: list[_Piece]) -> float:
    """Share of the reference's energy in pieces whose own NCC reaches ``_PIECE_MATCH``."""
    total = sum(p.energy for p in pieces)
    return sum(p.energy for p in pieces if p.ncc >= _PIECE_MATCH) / total


def _outer_slips(pieces: list[_Piece]) -> tuple[int, int]:
    """Slips of the first and last pieces loud enough to place the prompt's edges."""
    mean = sum(p.energy for p in pieces) / len(pieces)
    strong = [p.slip for p in pieces if p.energy >= _STRONG_PIECE * mean]
    return strong[0], strong[-1]
