"""Shared inputs for the audio tests: the committed loopback prompts."""

from __future__ import annotations

import numpy as np
import pytest

from harness.audio.pcm import FloatArray
from harness.audio.wav import read_wav

from .committed import PROMPT_DIR, PROMPT_NAMES


@pytest.fixture(scope="session")
def prompts() -> dict[str, FloatArray]:
    """The committed demo prompts, as float samples at 8000 Hz."""
    return {name: read_wav(PROMPT_DIR / f"{name}.wav")[0] for name in PROMPT_NAMES}


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so that every random impairment is reproducible."""
    return np.random.default_rng(20261127)
