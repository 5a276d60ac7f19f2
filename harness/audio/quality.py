"""An objective score of how a prompt sounded when it arrived: PESQ (ITU-T P.862, narrow-band).

``pesq`` (PyPI, the ITU reference C code) compares the prompt's reference recording
with the stretch of the call where the prompt was found, and returns MOS-LQO
(P.862.1's mapping): about 4.5 for a clean G.711 path, lower with loss and noise.
"""

from __future__ import annotations

import numpy as np

from harness.audio.pcm import RATE
from harness.errors import AudioError


def mos_lqo(reference: np.ndarray, heard: np.ndarray, rate: int = RATE) -> float:
    """PESQ MOS-LQO of ``heard`` against ``reference`` (8 kHz, narrow-band)."""
    from pesq import PesqError, pesq

    n = min(len(reference), len(heard))
    if n < rate // 4:
        raise AudioError(f"{n / rate:.2f}s of audio is too short to score (PESQ needs at least 0.25 s)")
    try:
        return float(pesq(rate, np.asarray(reference[:n], np.float64), np.asarray(heard[:n], np.float64), "nb"))
    except PesqError as exc:  # e.g. no utterance detected in the heard audio
        raise AudioError(f"PESQ could not score it: {type(exc).__name__}: {exc}") from None
