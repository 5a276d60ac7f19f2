"""The prompts a crawl has heard so far, and what a new stretch of audio is made of.

An IVR plays its prompts back to back: a greeting then the menu, an
"invalid option" then the menu again. A crawl hears such stretches whole and
must tell which prompts they hold, though it never had the platform's files.
So every stretch is *explained* as a sequence of clips:

* a clip already known is looked for in the stretch (``find_prompt``: the
  harness's prompt matching, score and coverage), longest first;
* what is left with sound in it is looked for inside the known clips: the menu
  heard alone after ``*`` is found inside the first call's greeting-and-menu,
  which is then split into two clips (the greeting, the menu), and every
  sequence that named it names the two;
* what is still left is a new clip.

So the same prompt reached by two paths is one clip, and a long stretch is
cut at the prompt boundaries the platform itself reveals by playing its
prompts in other combinations. Pure audio in, clip ids out; no call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.audio.pcm import RATE, FloatArray, to_float
from harness.audio.prompt import find_prompt
from harness.prompts.cut import last_sound_end

SOUND_DBFS = -40.0  # a 20 ms frame louder than this is sound
MIN_CLIP_S = 0.4  # a stretch of sound shorter than this is no prompt (a click, a cut-off tail)
MATCH_SCORE = 0.8  # a known clip is heard when it fits this well (and covers its energy)
_FRAME = RATE // 50


@dataclass
class ClipBook:
    """Every clip heard, by id; splits keep the ids a node already uses meaningful."""

    clips: dict[str, FloatArray] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)  # a clip split into these, in order
    made: int = 0

    def leaves(self, ids: list[str]) -> list[str]:
        """``ids`` with every split clip replaced by its parts, recursively."""
        out: list[str] = []
        for clip in ids:
            out += self.leaves(self.parts[clip]) if clip in self.parts else [clip]
        return out

    def explain(self, heard: FloatArray) -> list[str]:
        """The clips ``heard`` is made of, in order (new ones added); [] for silence."""
        pieces = _sounding(to_float(heard))
        out: list[str] = []
        for lo, hi in pieces:
            out += self._explain(to_float(heard)[lo:hi])
        return out

    # -- one stretch of sound ------------------------------------------------------------------------
    def _explain(self, x: FloatArray) -> list[str]:
        if not _loud_enough(x):
            return []
        for clip in sorted(self._current(), key=lambda c: -self.clips[c].size):
            ref = self.clips[clip]
            if ref.size > x.size + RATE // 4:
                continue
            found = find_prompt(x, ref, MATCH_SCORE)
            if found is None:
                continue
            lo, hi = int(found.start_s * RATE), int(found.end_s * RATE)
            return self._explain(x[:max(0, lo)]) + [clip] + self._explain(x[min(x.size, hi):])
        clip = self._new(x)
        self._absorb(clip)
        return [clip]

    def _absorb(self, clip: str) -> None:
        """Split every other clip that holds ``clip``: before it, it, after it (new clips, absorbed too)."""
        part = self.clips[clip]
        for other in sorted(self._current(), key=lambda c: -self.clips[c].size):
            ref = self.clips[other]
            if other == clip or other in self.parts or ref.size < part.size + MIN_CLIP_S * RATE:
                continue
            found = find_prompt(ref, part, MATCH_SCORE)
            if found is None:
                continue
            lo, hi = max(0, int(found.start_s * RATE)), min(ref.size, int(found.end_s * RATE))
            before, after = ref[:lo], ref[hi:]
            ids = [self._new(before)] if _loud_enough(before) else []
            ids.append(clip)
            if _loud_enough(after):
                ids.append(self._new(after))
            self.parts[other] = ids
            for new in ids:
                if new != clip:
                    self._absorb(new)

    def _current(self) -> list[str]:
        return [c for c in self.clips if c not in self.parts]

    def _new(self, x: FloatArray) -> str:
        """A new clip: ``x`` without its quiet ends (a clip is compared by its sound)."""
        self.made += 1
        clip = f"clip{self.made}"
        stretches = _sounding(x, gap_s=float("inf"))
        lo, hi = (stretches[0][0], stretches[-1][1]) if stretches else (0, x.size)
        self.clips[clip] = np.asarray(x[lo:hi], dtype=np.float32)
        return clip


def _loud_enough(x: FloatArray) -> bool:
    return bool(x.size >= MIN_CLIP_S * RATE and _sounding(x))


def _sounding(x: FloatArray, gap_s: float = 1.2) -> list[tuple[int, int]]:
    """The stretches of sound in ``x``: sound frames joined across pauses shorter than ``gap_s``."""
    frames = x.size // _FRAME
    if frames == 0:
        return []
    power = (x[: frames * _FRAME].reshape(frames, _FRAME).astype(np.float64) ** 2).mean(axis=1)
    loud = np.flatnonzero(10 * np.log10(power + 1e-12) >= SOUND_DBFS)
    if loud.size == 0:
        return []
    stretches, start, last = [], int(loud[0]), int(loud[0])
    for f in loud[1:]:
        if (f - last) * 0.02 > gap_s:
            stretches.append((start, last))
            start = int(f)
        last = int(f)
    stretches.append((start, last))
    return [(lo * _FRAME, min(x.size, (hi + 1) * _FRAME)) for lo, hi in stretches
            if (hi - lo + 1) * 0.02 >= MIN_CLIP_S]


__all__ = ["ClipBook", "last_sound_end"]
