"""Takes: the prompts cut out of calls, where each was heard, and prompts played back to back.

A take normally holds one prompt.  When a scenario expects two prompts in a
row with nothing between (``expect_prompt: welcome`` then ``expect_prompt:
main_menu``) and the platform leaves no pause of ``--end-silence`` between
them, the first take holds both: the second prompt is its *follower*.  Such a
take is split once every prompt in it but one has been heard on its own
elsewhere (``main_menu`` after a key, say) or is in a reference library (the
profile's, or the one already in ``--out``): the known ones are found in it by
:func:`harness.audio.prompt.find_prompt`, and what lies between them is the
missing prompt.  A known follower that is not in the take at all was never
played (the platform went quiet instead), and the take is the first prompt
alone.  A take that cannot be split is kept whole as its first prompt and says
so (:func:`together`); it is never reported plainly ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.audio.pcm import RATE, FloatArray
from harness.audio.prompt import find_prompt
from harness.prompts.cut import SOUND_DBFS, trim


@dataclass(frozen=True)
class Source:
    """Where and how a take was heard: which scenario step, which call, after which keys."""

    scenario: Path
    step: int  # 1-based
    line: int  # in the scenario file; 0 when unknown
    destination: str  # "did main (100)", or the URI dialled
    keys: str  # the digits sent on the call before the prompt, in order ("" for none)
    sip_call_id: str | None
    wall: float  # UTC epoch seconds when the prompt began

    def where(self) -> str:
        return f"{self.scenario}:{self.line} (step {self.step})" if self.line else \
            f"{self.scenario} (step {self.step})"

    def route(self) -> str:
        return f"{self.destination}, keys {self.keys}" if self.keys else self.destination


@dataclass
class Take:
    """One prompt as heard on a call, trimmed.  Mutable only while its call is being walked."""

    prompt: str
    audio: FloatArray
    source: Source
    # the prompts expected right after it with no pause, each with where it was expected
    followers: list[tuple[str, Source]] = field(default_factory=list)
    note: str = ""  # how it was cut, e.g. "cut from welcome+main_menu (played with no pause)"
    warning: str = ""  # what may be wrong with it, e.g. "cut at --max-length 60s"
    slipped: str = ""  # why its length cannot be vouched for: its jitter buffer threw away or made up audio

    def sequence(self) -> list[str]:
        return [self.prompt, *(p for p, _ in self.followers)]


@dataclass(frozen=True)
class Miss:
    """A prompt a walk did not capture, and why, naming the scenario file and step."""

    prompt: str
    reason: str


def clean_takes(takes: Iterable[Take]) -> dict[str, Take]:
    """The first take of each prompt that holds that prompt alone."""
    clean: dict[str, Take] = {}
    for take in takes:
        if not take.followers and take.prompt not in clean:
            clean[take.prompt] = take
    return clean


def resolve(takes: list[Take], wanted: Iterable[str],
            known: Mapping[str, FloatArray] | None = None) -> dict[str, Take]:
    """Each wanted prompt's take: a clean one, else one cut out of a take of prompts back to back.

    A prompt of such a take is cut out once every other prompt in it is known: heard alone
    (a clean take) or given in ``known`` (a reference recording, e.g. the profile's library).
    """
    want = set(wanted)
    clean = clean_takes(takes)
    refs = {**(known or {}), **{p: t.audio for p, t in clean.items()}}
    progress = True
    while progress:
        progress = False
        for take in (t for t in takes if t.followers):
            for prompt in take.sequence():
                if prompt in clean or prompt not in want:
                    continue
                if any(p not in refs for p in take.sequence() if p != prompt):
                    continue
                piece = split(take, prompt, refs)
                if piece is not None:
                    clean[prompt], refs[prompt] = piece, piece.audio
                    progress = True
    return {p: t for p, t in clean.items() if p in want}


def split(take: Take, prompt: str, refs: Mapping[str, FloatArray]) -> Take | None:
    """``prompt`` cut out of a take of prompts back to back: from the end of the prompt before it
    to the start of the prompt after it, each found in the take by correlation with ``refs``."""
    seq = take.sequence()
    k = seq.index(prompt)
    # The known takes carry their own pads of silence, which need not fit inside this take.
    margin = np.zeros(RATE // 2, dtype=np.float32)
    audio = np.concatenate([margin, take.audio, margin])
    left, right = 0, audio.size
    if k > 0:
        before = find_prompt(audio, refs[seq[k - 1]])
        if before is None:
            return None
        # Its last sound, from where the match ends: a jitter buffer that slipped inside the
        # prompt makes it longer in the take than in the reference, by up to its depth.
        ref = refs[seq[k - 1]]
        left = round((before.end_s - (ref.size / RATE - _sound(ref)[1])) * RATE)
    note = f"cut from {'+'.join(seq)} (played with no pause)"
    if k < len(seq) - 1:
        after = find_prompt(audio[left:], refs[seq[k + 1]])
        if after is not None:  # up to its first sound
            right = left + round((after.start_s + _sound(refs[seq[k + 1]])[0]) * RATE)
        else:  # the prompt expected next never came: the take holds this one alone
            note = f"{seq[k + 1]}, expected next, is not in it"
    piece = trim(audio[left:right])
    if piece.size == 0:
        return None
    source = take.source if k == 0 else take.followers[k - 1][1]
    return Take(prompt, piece, source, note=note, slipped=take.slipped)


def _sound(ref: FloatArray) -> tuple[float, float]:
    """Where a reference's sound begins and ends within it, to the sample (a take carries pads of
    silence, a library's file may not)."""
    loud = np.flatnonzero(np.abs(ref) >= 10 ** (SOUND_DBFS / 20))
    return (loud[0] / RATE, (loud[-1] + 1) / RATE) if loud.size else (0.0, ref.size / RATE)


def together(seq: list[str], end_silence: float) -> str:
    """Why a take of prompts back to back could not be split, and what would split it."""
    names = f"{', '.join(seq[:-1])} and {seq[-1]}"
    return (f"{names} were heard as one sound with no pause of {end_silence:.1f} s between them; "
            f"captured together as {seq[0]}; give one of them alone (another path, or --only "
            f"{','.join(seq[1:])} after capturing {seq[0]}) to split them")
