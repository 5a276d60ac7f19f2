"""The impairments used to test the analyses do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from harness.audio import impair
from harness.audio.tone import sine


def test_concealment_repeats_the_previous_frame_quieter() -> None:
    x = sine(440.0, 1.0, -6.0)
    out = impair.conceal_lost_packets(x, 0.05, np.random.default_rng(1), attenuation_db=6.0)
    changed = np.flatnonzero(np.any((out != x).reshape(-1, 160), axis=1))
    assert changed.size == round(0.05 * 50)  # of the 50 packets
    for k in changed:
        assert np.allclose(out[k * 160 : (k + 1) * 160], out[(k - 1) * 160 : k * 160] * 10 ** -0.3,
                           atol=1e-6)


def test_drift_stretches_by_parts_per_million() -> None:
    x = sine(300.0, 2.0, -6.0)
    assert impair.drift(x, 1000.0).size == 16016
    assert impair.drift(x, -1000.0).size == 15984


def test_stitch_puts_each_gap_after_its_file() -> None:
    a, b = np.ones(10, np.float32), np.full(5, 0.5, np.float32)
    out = impair.stitch([a, b], [0.001], rate=8000)
    assert out.tolist() == [1.0] * 10 + [0.0] * 8 + [0.5] * 5
    with pytest.raises(ValueError, match="need 1 gaps"):
        impair.stitch([a, b], [])
