"""G.711 µ-law and A-law coding in numpy (ITU-T G.711), replacing the
deprecated ``audioop`` and bit-exact with it for all 65536 int16 inputs and
all 256 codes.

Used to put synthetic audio through the same coding a call applies, so tests
can show that an analysis survives the codec.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from harness.audio.pcm import FloatArray, Int16Array, Samples, to_float, to_int16

CodeArray = npt.NDArray[np.uint8]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(samples: Samples) -> CodeArray:
    """Encode samples (int16 or float) as µ-law bytes."""
    pcm = to_int16(samples).astype(np.int32) >> 2  # 14-bit, as G.711 specifies µ-law
    negative = pcm < 0
    magnitude = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_ULAW_SEG_END, magnitude, side="left")
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((magnitude >> (seg + 1)) & 0xF))
    mask = np.where(negative, 0x7F, 0xFF)
    return (code ^ mask).astype(np.uint8)


def ulaw_decode(codes: CodeArray) -> Int16Array:
    """Decode µ-law bytes to int16 samples."""
    u = ~np.asarray(codes, dtype=np.uint8).astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def alaw_encode(samples: Samples) -> CodeArray:
    """Encode samples (int16 or float) as A-law bytes."""
    pcm = to_int16(samples).astype(np.int32) >> 3
    negative = pcm < 0
    magnitude = np.where(negative, -pcm - 1, pcm)
    seg = np.searchsorted(_ALAW_SEG_END, magnitude, side="left")
    shift = np.where(seg < 2, 1, seg)
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | ((magnitude >> shift) & 0xF))
    mask = np.where(negative, 0x55, 0xD5)
    return (code ^ mask).astype(np.uint8)


def alaw_decode(codes: CodeArray) -> Int16Array:
    """Decode A-law bytes to int16 samples."""
    a = np.asarray(codes, dtype=np.uint8).astype(np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def ulaw_roundtrip(samples: Samples) -> FloatArray:
    """Return ``samples`` as heard after µ-law coding (float in [-1, 1])."""
    return to_float(ulaw_decode(ulaw_encode(samples)))


def alaw_roundtrip(samples: Samples) -> FloatArray:
    """Return ``samples`` as heard after A-law coding (float in [-1, 1])."""
    return to_float(alaw_decode(alaw_encode(samples)))
