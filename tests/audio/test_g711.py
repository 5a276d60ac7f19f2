"""G.711 coding: known code points and the error bound of the round trip."""

from __future__ import annotations

import numpy as np

from harness.audio import g711


def test_ulaw_known_codes() -> None:
    codes = np.array([0xFF, 0x7F, 0x80, 0x00, 0xF0], dtype=np.uint8)
    assert g711.ulaw_decode(codes).tolist() == [0, 0, 32124, -32124, 120]


def test_alaw_known_codes() -> None:
    codes = np.array([0xD5, 0x55, 0xAA, 0x2A], dtype=np.uint8)
    assert g711.alaw_decode(codes).tolist() == [8, -8, 32256, -32256]


def test_every_code_decodes_to_a_value_that_encodes_back() -> None:
    codes = np.arange(256, dtype=np.uint8)
    assert (g711.alaw_encode(g711.alaw_decode(codes)) == codes).all()
    ulaw_again = g711.ulaw_encode(g711.ulaw_decode(codes))
    assert (ulaw_again[codes != 0x7F] == codes[codes != 0x7F]).all()  # 0x7F is -0, read as +0


def test_round_trip_error_is_a_few_percent_above_minus_30_dbfs() -> None:
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    for encode, decode in (
        (g711.ulaw_encode, g711.ulaw_decode),
        (g711.alaw_encode, g711.alaw_decode),
    ):
        error = np.abs(decode(encode(pcm)).astype(np.int32) - pcm)
        loud = np.abs(pcm.astype(np.int32)) > 1024
        assert (
            error[loud] <= np.abs(pcm[loud].astype(np.int32)) * 0.036
        ).all()  # half a step: 1/32, plus µ-law's 14-bit truncation


def test_roundtrip_of_float_keeps_scale() -> None:
    x = np.array([0.5, -0.25, 0.0], dtype=np.float32)
    assert np.allclose(g711.ulaw_roundtrip(x), x, atol=0.02)
    assert np.allclose(g711.alaw_roundtrip(x), x, atol=0.02)
