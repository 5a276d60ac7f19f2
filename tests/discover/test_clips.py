"""Explaining what a crawl hears as a sequence of clips, from the reference platform's prompt files (no call)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.audio.g711 import ulaw_roundtrip
from harness.audio.pcm import RATE
from harness.audio.wav import read_wav
from harness.discover.clips import ClipBook

pytestmark = pytest.mark.unit
PROMPTS = Path(__file__).parents[2] / "fixtures" / "reference" / "prompts"


def said(*names: str) -> np.ndarray:
    """The prompts back to back as a phone hears them: 0.3 s apart, through G.711, then quiet."""
    parts = [np.zeros(int(0.3 * RATE), np.float32)]
    for name in names:
        parts += [read_wav(PROMPTS / f"{name}.wav")[0], np.zeros(int(0.3 * RATE), np.float32)]
    return ulaw_roundtrip(np.concatenate([*parts, np.zeros(2 * RATE, np.float32)]))


def test_a_menu_heard_alone_splits_the_greeting_and_menu_heard_first() -> None:
    book = ClipBook()
    [first] = book.explain(said("welcome", "main_menu"))
    [menu] = book.explain(said("main_menu"))
    greeting, menu_again = book.leaves([first])
    assert menu_again == menu and greeting != menu
    assert book.explain(said("main_menu")) == [menu]  # known now: no new clip
    assert book.explain(said("welcome")) == [greeting]


def test_a_message_before_a_known_menu_is_a_clip_of_its_own_and_is_found_again() -> None:
    book = ClipBook()
    root = book.explain(said("welcome", "main_menu"))
    invalid = book.explain(said("invalid_option", "main_menu"))  # heard before the menu alone
    book.explain(said("main_menu"))  # splits both earlier stretches at the menu
    message, menu = book.leaves(invalid)
    assert book.leaves(root)[-1] == menu
    assert book.explain(said("invalid_option", "service_menu"))[0] == message  # the same words elsewhere
    assert len({*book.leaves(root), message}) == 3


def test_different_prompts_are_different_clips_and_silence_is_none() -> None:
    book = ClipBook()
    menus = [book.explain(said(name)) for name in ("main_menu", "service_menu", "opening_hours", "goodbye")]
    assert len({clip for m in menus for clip in m}) == 4
    assert book.explain(np.zeros(3 * RATE, np.float32)) == []
