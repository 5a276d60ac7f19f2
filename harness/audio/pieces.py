"""Pieces of a reference prompt placed one by one in a capture, and what they add up to.

A quarter-second piece is placed where it fits best within ``max_slip`` of
where its neighbour landed (jitter-buffer slips add up over a prompt), and is
*heard* if it matches on its own (normalised correlation, NCC >= 0.5), or if
its best 70 % of 10 ms frames do (>= 0.8: a burst of lost packets, concealed
or not, spoils a few frames of a piece, a different word all of them). A
piece that is not heard is tried again as two halves that may slip apart (a
slip inside it leaves no one place where all of it fits).

Pieces add up to a score (:func:`combined_score`: at most 1, the NCC of the
whole when nothing slipped) and a coverage (the share of energy in pieces
that are heard, judged a second at a time by :func:`windowed_coverage`,
which lets a run of unheard pieces shorter than ``LAPSE_S`` pass as lost
packets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import correlate

from harness.audio.frames import runs

_F64 = npt.NDArray[np.float64]
PIECE_MATCH = 0.5  # a piece at or above this NCC on its own counts as heard
_KEPT_SHARE = 0.7  # ... or if its best 70 % of 10 ms frames (lost packets left out) ...
_KEPT_MATCH = 0.8  # ... reach this NCC
_FRAMES_PER_PIECE = 25  # 10 ms frames in a quarter-second piece
_MIN_HALF = 400  # samples (50 ms at 8 kHz): a shorter half is too short to place alone
MIN_RMS = 1e-5  # windows quieter than -100 dBFS are silence, not a match
_STRONG_PIECE = 0.1  # pieces under 10 % of mean energy do not place the edges
COVERAGE_WINDOW_S = 1.0  # coverage is the worst second's (quieter seconds aside)
_QUIET_WINDOW = 0.1  # a second with under 10 % of the segment's mean energy per second
LAPSE_S = 0.15  # unheard runs shorter than this are lost packets, not another word


@dataclass(frozen=True)
class Piece:
    """One piece of the reference at the place where it fits best."""

    product: float  # <piece, window> at the chosen place
    window_energy: float
    energy: float  # of the reference piece
    ncc: float
    slip: int  # samples from the rigid place
    offset: int = 0  # of the piece's first sample in its segment of the reference
    kept_ncc: float = 0.0  # NCC over its best frames (see _kept_ncc)

    @property
    def heard(self) -> bool:
        """Matches on its own, or would but for a few frames (a burst of lost packets)."""
        return self.ncc >= PIECE_MATCH or self.kept_ncc >= _KEPT_MATCH


def weighed(piece: Piece, weight: float) -> Piece:
    """``piece`` with its correlation scaled by ``weight`` in a score (its energies stay)."""
    return Piece(piece.product * weight, piece.window_energy, piece.energy, piece.ncc, piece.slip,
                 piece.offset, piece.kept_ncc)


def window_energy(energy: _F64, lo: int, hi: int, size: int) -> _F64:
    """Energies of the windows of ``size`` samples starting at ``lo..hi`` inclusive."""
    return np.maximum(energy[lo + size : hi + size + 1] - energy[lo : hi + 1], 0.0)


def ncc_at(products: _F64, ref_energy: float, window_energy: _F64, size: int) -> _F64:
    """Normalised correlation for each lag; silent windows score 0."""
    floor = size * MIN_RMS**2
    denominator = np.sqrt(max(ref_energy, 1e-30) * np.maximum(window_energy, floor))
    return np.where(window_energy > floor, np.abs(products) / denominator, 0.0)


def place_pieces(
    c: _F64, r: _F64, energy: _F64, lag: int, piece_len: int, max_slip: int,
    warp: _F64 | None = None,
) -> list[Piece]:
    """Cut ``r`` into pieces of about ``piece_len`` and place each where it fits best.

    Slips add up: every packet a jitter buffer drops or repeats moves the rest
    of the prompt, and a bridged call passes two jitter buffers.  So each piece
    may slip up to ``max_slip`` from where its *neighbour* landed, walking out
    from the piece that fits best at the rigid lag; each still has to match on
    its own, which a different prompt's pieces do not.

    ``warp`` (see :func:`warp_cumulative`) is what the phone's jitter buffer
    said it made up or threw away, and where: a piece near such a place may
    also slip that much further (:func:`warp_allowance`), if it fits there as
    well as a piece of the right word does (``WARP_MATCH``).  A sender that
    stalls mid-prompt moves the rest of it by what the buffer made up
    (measured: 0.3 s for a 0.3 s stall), far more than ``max_slip``.
    """
    bounds = np.array_split(np.arange(r.size), max(1, round(r.size / max(1, piece_len))))
    rigid = [_at(_place(c, r[idx], energy, lag + int(idx[0]), 0), int(idx[0])) for idx in bounds]
    if max_slip <= 0:
        return rigid
    anchor = max(range(len(rigid)), key=lambda i: (rigid[i].ncc, rigid[i].energy))
    placed: list[Piece | None] = [None] * len(bounds)

    def place(i: int, drift: int) -> Piece:
        at = lag + int(bounds[i][0])
        centre = min(max(at + drift, 0), c.size - bounds[i].size)
        found = _place(c, r[bounds[i]], energy, centre, max_slip)
        wider = warp_allowance(warp, centre, bounds[i].size)
        if wider:
            warped = _place(c, r[bounds[i]], energy, centre, max_slip + wider)
            if warped.ncc >= WARP_MATCH and warped.ncc > found.ncc:
                found = warped
        return Piece(found.product, found.window_energy, found.energy, found.ncc,
                     found.slip + centre - at, int(bounds[i][0]), found.kept_ncc)

    placed[anchor] = place(anchor, 0)
    for i in range(anchor + 1, len(bounds)):
        placed[i] = place(i, placed[i - 1].slip)  # type: ignore[union-attr]
    for i in range(anchor - 1, -1, -1):
        placed[i] = place(i, placed[i + 1].slip)  # type: ignore[union-attr]
    return [
        half
        for idx, piece in zip(bounds, placed)
        if piece is not None
        for half in _split_unheard(c, r, energy, lag, idx, piece, max_slip)
    ]


WARP_REACH_S = 0.3  # a slip is reported up to a look (0.1 s) after it, a discard spread over
# seconds: a piece within this of reported slips may have moved by their sum ...
WARP_CAP_S = 0.25  # ... up to this much further (a 0.3 s sender stall needs 0.24, measured) ...
WARP_MATCH = 0.8  # ... where it fits this well: some 0.25 s of another word fits a piece at
# PIECE_MATCH within a quarter second of it (measured), so a piece moved so far must fit as a
# piece of the right word does


def warp_cumulative(size: int, slips: list[tuple[int, int]]) -> _F64:
    """Audio the jitter buffer made up or threw away (samples) before each capture sample,
    from the ``(at, samples)`` it reported."""
    per = np.zeros(size + 1)
    for at, amount in slips:
        per[min(max(at, 0), size)] += abs(amount)
    return np.concatenate(([0.0], np.cumsum(per)))


def warp_allowance(warp: _F64 | None, centre: int, size: int, rate: int = 8000) -> int:
    """Samples of slip the phone reported within ``WARP_REACH_S`` of ``centre..centre+size``,
    no more than ``WARP_CAP_S``."""
    if warp is None:
        return 0
    reach = int(WARP_REACH_S * rate)
    lo, hi = max(0, centre - reach), min(warp.size - 1, centre + size + reach)
    return min(int(warp[hi] - warp[lo]), int(WARP_CAP_S * rate)) if hi > lo else 0


def _split_unheard(
    c: _F64, r: _F64, energy: _F64, lag: int, idx: npt.NDArray[np.int_], piece: Piece, max_slip: int
) -> list[Piece]:
    """A piece that is not heard, as two halves that may slip apart, if one of them is heard.

    A jitter buffer's slip inside a piece leaves no single place where all of
    it matches; each half still has to match on its own.
    """
    if piece.heard or idx.size < 2 * _MIN_HALF:
        return [piece]
    halves = []
    for half in np.array_split(idx, 2):
        at = lag + int(half[0])
        centre = min(max(at + piece.slip, 0), c.size - half.size)
        found = _place(c, r[half], energy, centre, max_slip)
        halves.append(Piece(found.product, found.window_energy, found.energy, found.ncc,
                             found.slip + centre - at, int(half[0]), found.kept_ncc))
    return halves if any(h.heard for h in halves) else [piece]


def _at(piece: Piece, offset: int) -> Piece:
    """``piece`` noted as starting ``offset`` samples into its segment."""
    return Piece(piece.product, piece.window_energy, piece.energy, piece.ncc, piece.slip, offset,
                  piece.kept_ncc)


def _place(c: _F64, piece: _F64, energy: _F64, at: int, max_slip: int) -> Piece:
    """Best place for ``piece`` within ``max_slip`` samples of ``at``."""
    piece_energy = float(piece @ piece)
    if max_slip <= 0 or piece_energy <= piece.size * MIN_RMS**2:
        lo = hi = at  # a pause in the prompt says nothing about timing: it stays put
    else:
        lo, hi = max(0, at - max_slip), min(c.size - piece.size, at + max_slip)
    if lo == hi:  # one lag: a dot product, far cheaper than an FFT
        products = np.array([float(c[lo : lo + piece.size] @ piece)])
    else:
        products = correlate(c[lo : hi + piece.size], piece, mode="valid", method="fft")
    windows = window_energy(energy, lo, hi, piece.size)
    nccs = ncc_at(products, piece_energy, windows, piece.size)
    best = int(np.argmax(nccs))
    kept = _kept_ncc(piece, c[lo + best : lo + best + piece.size], float(products[best]))
    return Piece(
        float(products[best]), float(windows[best]), piece_energy, float(nccs[best]),
        lo + best - at, 0, kept,
    )


def _kept_ncc(piece: _F64, window: _F64, product: float) -> float:
    """NCC of ``piece`` and ``window`` over the ``_KEPT_SHARE`` of 10 ms frames that match best.

    A burst of lost packets, concealed or not, spoils a few frames of a piece
    and leaves the rest matching; a different word spoils all of them.
    """
    size = max(1, piece.size // _FRAMES_PER_PIECE)
    count = piece.size // size
    if count < 2:
        return 0.0
    ref = piece[: count * size].reshape(count, size)
    heard = window[: count * size].reshape(count, size)
    products = np.sign(product) * np.sum(ref * heard, axis=1)
    ref_e, heard_e = np.sum(ref * ref, axis=1), np.sum(heard * heard, axis=1)
    floor = size * MIN_RMS**2
    local = products / np.sqrt(np.maximum(ref_e, floor) * np.maximum(heard_e, floor))
    kept = np.argsort(local)[count - max(1, round(_KEPT_SHARE * count)) :]
    denominator = float(np.sqrt(ref_e[kept].sum() * heard_e[kept].sum()))
    return float(products[kept].sum()) / denominator if denominator > floor else 0.0


def combined_score(pieces: list[Piece]) -> float:
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


def windowed_coverage(pieces: list[Piece], size: int, window: int, lapse: int) -> float:
    """Lowest share of energy heard over the ``window``-long stretches of a segment.

    A stretch holds the pieces whose centres lie in it; stretches start at
    each piece (moved back to fit), and quiet ones (``_QUIET_WINDOW``) do not
    count. A run of unheard pieces shorter than ``lapse`` samples counts as
    heard: a burst of lost packets can take a short loud sound away whole,
    while a different word leaves a whole piece or more unheard.
    """
    offsets = np.array([p.offset for p in pieces])
    sizes = np.diff(np.append(offsets, size))
    energies = np.array([p.energy for p in pieces])
    heard = np.where(_forgiven(pieces, sizes, lapse), energies, 0.0)
    if size <= window:
        return float(heard.sum() / energies.sum())
    centres = offsets + sizes / 2
    floor = _QUIET_WINDOW * energies.sum() * window / size
    worst = 1.0
    for start in np.unique(np.minimum(offsets, size - window)):
        inside = (centres >= start) & (centres < start + window)
        total = float(energies[inside].sum())
        if total > floor:
            worst = min(worst, float(heard[inside].sum()) / total)
    return worst


def _forgiven(pieces: list[Piece], sizes: npt.NDArray[np.int_], lapse: int) -> npt.NDArray[np.bool_]:
    """Pieces heard, or in a run of unheard ones shorter than ``lapse`` samples in all."""
    ok = np.array([p.heard for p in pieces])
    for first, last in runs(~ok):
        if sizes[first : last + 1].sum() < lapse:
            ok[first : last + 1] = True
    return ok


def outer_slips(pieces: list[Piece]) -> tuple[int, int]:
    """Slips of the first and last pieces loud enough to place the prompt's edges."""
    mean = sum(p.energy for p in pieces) / len(pieces)
    strong = [p.slip for p in pieces if p.energy >= _STRONG_PIECE * mean]
    return strong[0], strong[-1]
