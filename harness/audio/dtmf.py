"""In-band DTMF detection through spandsp's receiver, by a thin ``ctypes`` binding.

spandsp's ``dtmf_rx`` implements ITU-T Q.24 acceptance (duration, twist,
frequency tolerance) and talk-off protection, which a home-made Goertzel
would have to re-derive. It needs the Debian package ``libspandsp2``
(``libspandsp.so.2``); the headers (``libspandsp-dev``) are not needed.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import NamedTuple, Self

import numpy as np

from harness.audio.pcm import RATE, Samples, resample, to_float, to_int16
from harness.errors import AudioError

BLOCK_S = 0.020
"""Samples are fed to the receiver in blocks of this length (one RTP packet)."""

_LIBRARY_NAMES = ("libspandsp.so.2", "libspandsp.so")
_DIGIT_BUFFER = 128  # spandsp keeps at most MAX_DTMF_DIGITS (128) undelivered digits


class DtmfHit(NamedTuple):
    """One DTMF digit and the time of the 20 ms block in which spandsp reported it."""

    digit: str
    start_s: float


class _Receiver:
    """One spandsp ``dtmf_rx_state_t``; digits are collected with ``dtmf_rx_get``."""

    def __init__(self) -> None:
        self._lib = _spandsp()
        self._state = self._lib.dtmf_rx_init(None, None, None)
        if not self._state:
            raise AudioError("spandsp dtmf_rx_init returned NULL")
        self._buffer = ctypes.create_string_buffer(_DIGIT_BUFFER + 1)

    def feed(self, block: np.ndarray) -> str:
        """Process one int16 block and return the digits it completed."""
        pcm = np.ascontiguousarray(block, dtype=np.int16)
        self._lib.dtmf_rx(self._state, pcm.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), pcm.size)
        count = self._lib.dtmf_rx_get(self._state, self._buffer, _DIGIT_BUFFER)
        return self._buffer.raw[:count].decode("ascii")

    def close(self) -> None:
        if self._state:
            self._lib.dtmf_rx_free(self._state)
            self._state = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def detect_dtmf(samples: Samples, rate: int = RATE) -> list[DtmfHit]:
    """Detect in-band DTMF digits, in order, with the time each was reported.

    Audio at another ``rate`` is resampled to 8000 Hz first. The time is the
    start of the 20 ms block in which spandsp confirmed the digit: never
    before the tone's onset and at most about 40 ms after it (5-35 ms measured).
    Raises :class:`AudioError` if spandsp is
    not installed.
    """
    pcm = to_int16(resample(to_float(samples), rate, RATE))
    block = int(BLOCK_S * RATE)
    hits: list[DtmfHit] = []
    with _Receiver() as receiver:
        for start in range(0, pcm.size, block):
            digits = receiver.feed(pcm[start : start + block])
            hits.extend(DtmfHit(digit, start / RATE) for digit in digits)
    return hits


def dtmf_digits(samples: Samples, rate: int = RATE) -> str:
    """Return the DTMF digits heard in ``samples`` as a string, e.g. ``"1234#"``."""
    return "".join(hit.digit for hit in detect_dtmf(samples, rate))


@lru_cache(maxsize=1)
def _spandsp() -> ctypes.CDLL:
    """Load libspandsp and declare the signatures from ``<spandsp/dtmf.h>``."""
    lib = _load()
    state, samples = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16)
    # dtmf_rx_state_t *dtmf_rx_init(dtmf_rx_state_t *s, digits_rx_callback_t cb, void *user_data)
    lib.dtmf_rx_init.argtypes = [state, ctypes.c_void_p, ctypes.c_void_p]
    lib.dtmf_rx_init.restype = state
    # int dtmf_rx(dtmf_rx_state_t *s, const int16_t amp[], int samples)
    lib.dtmf_rx.argtypes = [state, samples, ctypes.c_int]
    lib.dtmf_rx.restype = ctypes.c_int
    # size_t dtmf_rx_get(dtmf_rx_state_t *s, char *digits, int max)
    lib.dtmf_rx_get.argtypes = [state, ctypes.c_char_p, ctypes.c_int]
    lib.dtmf_rx_get.restype = ctypes.c_size_t
    # int dtmf_rx_free(dtmf_rx_state_t *s)
    lib.dtmf_rx_free.argtypes = [state]
    lib.dtmf_rx_free.restype = ctypes.c_int
    return lib


def _load() -> ctypes.CDLL:
    errors = []
    for name in _LIBRARY_NAMES:
        try:
            return ctypes.CDLL(name)
        except OSError as error:
            errors.append(str(error))
    raise AudioError(
        "DTMF detection needs spandsp, which was not found "
        f"({'; '.join(errors)}): install the Debian package libspandsp2 "
        "(apt-get install libspandsp2)"
    )
