"""Prompt matching: is a known recording (the reference) in a capture, and where?

The measure is normalised cross-correlation of waveforms. The *rigid* score is

    max over lags of |<ref, window>| / (||ref|| * ||window||)

where ``window`` is the stretch of capture under the reference at that lag
(correlation by FFT, window energies from a cumulative sum). It ignores gain
and polarity; noise, codec error, clipping and lost packets lower it only by
the share of energy they change (10 dB SNR gives about 0.95).

What a call does to a prompt moves its parts, though:

* a menu is often several files played back to back, and the pauses between
  them are not the reference's: the reference is cut at its internal pauses
  into segments, found in order, each pause allowed to shrink to nothing or
  grow by ``max_gap_change_s`` (:mod:`harness.audio.segments`);
* a jitter buffer may drop or repeat a packet mid-prompt, so the rest arrives
  10-20 ms early or late: within a segment each quarter-second piece may
  *slip* up to ``max_slip_s`` from where its neighbour landed (slips add up
  over a long prompt; :mod:`harness.audio.pieces`);
* a sender's clock may run up to 0.1 % fast or slow, which the pieces show
  as slips growing steadily along each segment: the reference is then
  stretched by the drift they show and matched again (up to ``max_drift_ppm``).

``score`` adds up the pieces' correlations against their own windows (a
piece that is not heard adds its energy but not its chance correlation, and
a segment's correlation is scaled by its coverage), so it is at most 1,
equals the rigid score when nothing moved and is never reported below it.
``coverage`` is the share of the reference's energy in pieces that are
heard, in the worst second of any segment (a run of unheard pieces shorter
than 150 ms, what a burst of lost packets takes, aside): a prompt cut short,
or a near duplicate with one word (a digit) changed, can still score high on
what it shares, so :func:`find_prompt` asks for both.

Only whole windows count. A reference longer than the capture scores 0 and a
prompt that has only partly arrived at the end of a capture scores low (its
last segments have nowhere to go).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import correlate, resample

from harness.audio.pcm import RATE, Samples, to_float
from harness.audio.pieces import (
    COVERAGE_WINDOW_S,
    LAPSE_S,
    Piece,
    combined_score,
    ncc_at,
    outer_slips,
    place_pieces,
    warp_cumulative,
    weighed,
    window_energy,
    windowed_coverage,
)
from harness.audio.segments import Segment, chain_segments, split_at_pauses

_F64 = npt.NDArray[np.float64]
_PIECE_S = 0.25


@dataclass(frozen=True)
class PromptMatch:
    """Where a reference prompt best fits in a capture, and how well (all 0..1)."""

    score: float  # normalised correlation, segments and pieces may move (module docstring)
    start_s: float  # capture time of the reference's first sample
    end_s: float  # capture time just after the reference's last sample
    rigid_score: float  # normalised correlation at one lag for the whole reference
    coverage: float  # share of energy in heard pieces, in a segment's worst second


MAX_GAP_CHANGE_S = 0.4
"""How much longer a pause between two segments of a prompt may be heard than recorded."""
MAX_DRIFT_PPM = 2000.0
"""The largest clock drift (parts per million) that the match corrects for."""
_MIN_DRIFT_PPM = 150.0  # a smaller drift moves a 0.25 s piece's ends by under 0.2 samples


def match_prompt(
    capture: Samples,
    reference: Samples,
    rate: int = RATE,
    max_slip_s: float = 0.060,
    max_gap_change_s: float = MAX_GAP_CHANGE_S,
    max_drift_ppm: float = MAX_DRIFT_PPM,
    slips: Sequence[tuple[float, float]] = (),
) -> PromptMatch:
    """Return the best fit of ``reference`` inside ``capture`` (both mono at ``rate``).

    A capture shorter than the reference by more than ``LAPSE_S`` gives
    score 0 (a prompt still arriving must not match); a shorter cut at the
    capture's end is forgiven as lost packets are. ``max_slip_s=0`` keeps every piece at its
    segment's lag; ``max_gap_change_s=0`` matches the reference as one
    segment, pauses and all; ``max_drift_ppm=0`` corrects no clock drift.
    All three at 0 is a rigid match. ``slips`` are ``(capture_s, slipped_s)``: where
    in ``capture`` the phone's jitter buffer said it made up or threw away audio, and
    how much; a piece near one may have moved by that much more (see ``place_pieces``).
    """
    c, r = _as_f64(capture), _as_f64(reference)
    if not np.any(r):
        raise ValueError("the reference prompt is digital silence")
    # The capture's end may cut a prompt's last LAPSE_S as a lost-packet lapse would: a platform
    # that hangs up as a prompt ends sends its BYE right behind the last packets, and the phone
    # stops capturing with them still in its jitter buffer (Asterisk's Playback, then Hangup:
    # 20 ms missing left a 5 s goodbye's last second a fifth heard, and a no_agents prompt played
    # straight after the answer left a capture shorter than the prompt). Silence stands in.
    cut = int(LAPSE_S * rate)
    if c.size + cut < r.size:
        return PromptMatch(0.0, 0.0, r.size / rate, 0.0, 0.0)
    c = np.concatenate((c, np.zeros(cut)))
    warp = (warp_cumulative(c.size, [(int(t * rate), int(d * rate)) for t, d in slips])
            if slips else None)
    energy = np.concatenate(([0.0], np.cumsum(c * c)))  # window energy = one subtraction
    lag, rigid = _rigid_match(c, r, energy)
    heard = _match_segments(c, r, energy, lag, rate, max_slip_s, max_gap_change_s, warp)
    stretch = _drift(heard, max_drift_ppm)
    if stretch != 1.0 and round(r.size * stretch) <= c.size:
        stretched = _stretch(r, stretch)
        again = _match_segments(c, stretched, energy, _rigid_match(c, stretched, energy)[0],
                                rate, max_slip_s, max_gap_change_s, warp)
        if _chain_score(again) > _chain_score(heard):
            heard, r = again, stretched
    return PromptMatch(
        score=max(_chain_score(heard), rigid),
        start_s=round(heard[0].origin(first=True) / rate, 6),
        end_s=round((heard[-1].origin(first=False) + r.size) / rate, 6),
        rigid_score=rigid,
        coverage=min(s.coverage for s in heard),
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
    slips: Sequence[tuple[float, float]] = (),
) -> PromptMatch | None:
    """Return the match of ``reference`` in ``capture`` if it is heard, else ``None``.

    Heard means a score of at least ``min_score`` and a coverage of at least
    ``min_coverage`` (so a prompt cut short does not pass on its first part).
    ``slips`` are the listening phone's jitter-buffer slips, as for :func:`match_prompt`.
    """
    found = match_prompt(capture, reference, rate, max_slip_s, slips=slips)
    return found if found.score >= min_score and found.coverage >= min_coverage else None


@dataclass(frozen=True)
class SegmentMatch:
    """Where one segment of the reference was placed, piece by piece."""

    segment: Segment
    lag: int  # capture sample of the segment's first sample, before pieces slip
    pieces: list[Piece]

    @property
    def score(self) -> float:
        """The segment's own normalised correlation, its pieces allowed to slip."""
        return combined_score(self.pieces)

    window: int  # samples: coverage is judged over stretches this long
    lapse: int  # samples: shorter runs of unheard pieces still count as heard

    @property
    def coverage(self) -> float:
        """Lowest share of energy in heard pieces over any ``window`` of the segment.

        Judged a second at a time, so that one different word (a digit, a
        name) in a long segment is not lost in the energy of the rest.
        """
        return windowed_coverage(self.pieces, self.segment.size, self.window, self.lapse)

    def origin(self, first: bool) -> int:
        """Capture sample where the reference's sample 0 is, by this segment's first or last piece."""
        slips = outer_slips(self.pieces)
        return self.lag + slips[0 if first else 1] - self.segment.start


def match_segments(
    capture: Samples,
    reference: Samples,
    rate: int = RATE,
    max_slip_s: float = 0.060,
    max_gap_change_s: float = MAX_GAP_CHANGE_S,
) -> list[SegmentMatch]:
    """Each segment of ``reference`` as placed by :func:`match_prompt` (for reports)."""
    c, r = _as_f64(capture), _as_f64(reference)
    energy = np.concatenate(([0.0], np.cumsum(c * c)))
    lag, _ = _rigid_match(c, r, energy)
    return _match_segments(c, r, energy, lag, rate, max_slip_s, max_gap_change_s)


def _match_segments(
    c: _F64, r: _F64, energy: _F64, lag: int, rate: int, max_slip_s: float, max_gap_change_s: float,
    warp: _F64 | None = None,
) -> list[SegmentMatch]:
    """Cut ``r`` at its pauses and place the segments in order near the rigid ``lag``."""
    max_slip, max_gap = int(max_slip_s * rate), int(max_gap_change_s * rate)
    segments = split_at_pauses(r, rate) if max_gap > 0 else [Segment(0, r.size)]
    if segments == [Segment(0, r.size)]:
        lags = [lag]
    else:
        margin = len(segments) * max_gap + max_slip
        region = (max(0, lag - margin), min(c.size, lag + r.size + margin))
        lags = chain_segments(c, r, segments, energy, region, max_gap, max_slip)
    piece_len, window = int(_PIECE_S * rate), int(COVERAGE_WINDOW_S * rate)
    lapse = int(LAPSE_S * rate)
    return [
        SegmentMatch(
            s, at, place_pieces(c, r[s.start : s.end], energy, at, piece_len, max_slip, warp), window,
            lapse,
        )
        for s, at in zip(segments, lags)
    ]


def _chain_score(heard: list[SegmentMatch]) -> float:
    """The combined score of every piece, each counted as far as it and its segment are heard.

    A piece that does not match (a different word in its place) adds its
    energy but none of its chance correlation, and the correlation of a
    segment that is only partly heard is scaled by its coverage: a prompt
    that shares most words with another does not score as high as the other.
    """
    return combined_score([
        weighed(p, s.coverage if p.heard else 0.0) for s in heard for p in s.pieces
    ])


def _drift(heard: list[SegmentMatch], max_ppm: float) -> float:
    """How much longer the capture's clock makes the prompt, from how its pieces slipped.

    Within each segment, a piece's slip grows with its offset when the two
    clocks differ; the common slope (least squares, each segment about its
    own mean, weighted by the energy of the pieces that match) is the drift.
    Returns 1.0 (no correction) below ``_MIN_DRIFT_PPM`` or above ``max_ppm``.
    """
    moments = np.zeros(2)
    for segment in heard:
        used = [p for p in segment.pieces if p.heard]
        if len(used) < 2:
            continue
        w = np.array([p.energy for p in used])
        x = np.array([p.offset for p in used], dtype=np.float64)
        y = np.array([p.slip for p in used], dtype=np.float64)
        x, y = x - np.average(x, weights=w), y - np.average(y, weights=w)
        moments += (float(np.sum(w * x * y)), float(np.sum(w * x * x)))
    ppm = moments[0] / moments[1] * 1e6 if moments[1] > 0 else 0.0
    return 1.0 + ppm * 1e-6 if _MIN_DRIFT_PPM <= abs(ppm) <= max_ppm else 1.0


def _stretch(r: _F64, stretch: float) -> _F64:
    """``r`` made ``stretch`` times as long, band-limited (FFT resampling)."""
    stretched: _F64 = resample(r, round(r.size * stretch))
    return stretched


def _as_f64(samples: Samples) -> _F64:
    return to_float(samples).astype(np.float64)


def _rigid_match(c: _F64, r: _F64, energy: _F64) -> tuple[int, float]:
    """Best lag and its score with one lag for the whole reference."""
    products = correlate(c, r, mode="valid", method="fft")
    windows = window_energy(energy, 0, c.size - r.size, r.size)
    scores = ncc_at(products, float(r @ r), windows, r.size)
    lag = int(np.argmax(scores))
    return lag, float(min(1.0, scores[lag]))

