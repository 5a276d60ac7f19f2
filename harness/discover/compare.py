"""An earlier crawl's map, read before a new crawl writes over it: for ``--compare`` (drift) and for
keeping the names a user gave menus and prompts when a folder is crawled again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from harness.audio.prompt import match_prompt
from harness.audio.wav import read_wav
from harness.discover.drift import PROMPT_SAME, Change, drift
from harness.errors import AudioError, HarnessError


@dataclass
class EarlierMap:
    path: Path
    doc: dict[str, Any]
    audio: dict[str, np.ndarray] = field(default_factory=dict)  # prompt name -> its WAV's samples

    @property
    def menu_names(self) -> dict[str, str]:
        """Path -> the menu's name."""
        return {str(m["path"]): name for name, m in self.doc["menus"].items()}

    def prompt_like(self, samples: np.ndarray, taken: set[str]) -> str | None:
        """The name of an earlier prompt with the same audio as ``samples``, not taken yet."""
        for name, was in self.audio.items():
            if name not in taken and similarity(was, samples) >= PROMPT_SAME:
                return name
        return None


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    longer, shorter = (a, b) if a.size >= b.size else (b, a)
    if shorter.size == 0 or not np.any(shorter):
        return 0.0
    return float(match_prompt(longer, shorter).score)


def read_earlier(path: Path) -> EarlierMap:
    """The map at ``path`` and its prompts' audio (``prompts/`` beside it), or an error naming the file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HarnessError(f"cannot read the earlier map {path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("menus"), dict):
        raise HarnessError(f"{path} is not an IVR map written by ccharness discover (it has no menus:)")
    earlier = EarlierMap(path, doc)
    for wav in sorted((path.parent / "prompts").glob("*.wav")):
        try:
            earlier.audio[wav.stem] = read_wav(wav)[0]
        except (AudioError, OSError):
            continue
    return earlier


def compare(earlier: EarlierMap, new_map: Path) -> list[Change]:
    """The changes from ``earlier`` to the map just written at ``new_map``."""
    new = yaml.safe_load(new_map.read_text(encoding="utf-8"))

    def score(old_name: str, new_name: str) -> float | None:
        was = earlier.audio.get(old_name)
        try:
            now, _ = read_wav(new_map.parent / "prompts" / f"{new_name}.wav")
        except (AudioError, OSError):
            return None
        return similarity(was, now) if was is not None else None

    return drift(earlier.doc, new, score)
