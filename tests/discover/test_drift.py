"""Drift between two IVR maps, in a reviewer's words (no call)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.discover.drift import drift

pytestmark = pytest.mark.unit

OLD: dict[str, Any] = {"did": "main", "menus": {
    "main": {"path": "", "depth": 0, "prompt": ["main_intro", "main"], "keys": {
        "1": {"heard": [], "queue": ["agent1"]},
        "3": {"heard": [], "menu": "main_3"},
        "4": {"heard": ["main_invalid", "main"], "menu": "main", "invalid": True},
        "9": {"heard": ["main_key9"], "hangup": True}},
        "no_input": {"heard": ["main_no_input", "main"], "menu": "main",
                     "then": [{"heard": ["main_no_input", "main"], "menu": "main"},
                              {"heard": ["main_no_input_end"], "hangup": True}]}},
    "main_3": {"path": "3", "depth": 1, "prompt": ["main_3"], "keys": {
        "0": {"heard": ["main"], "menu": "main"}}, "no_input": None}}}


def same(old: str, new: str) -> float:
    return 1.0


def test_the_same_map_has_no_drift() -> None:
    assert drift(OLD, copy.deepcopy(OLD), same) == []


def test_each_kind_of_change_is_named() -> None:
    new = copy.deepcopy(OLD)
    main = new["menus"]["main"]
    main["keys"]["1"] = {"heard": ["main_key1"], "hangup": True}  # a route somewhere else
    main["keys"]["3"] = {"heard": ["main_key3"], "hangup": True}  # ... and its menu gone
    main["keys"]["4"] = {"heard": ["main_key4"], "hangup": True}  # a key added
    main["keys"]["9"] = {"heard": ["main_invalid", "main"], "menu": "main", "invalid": True}  # a key removed
    main["no_input"]["then"] = main["no_input"]["then"][1:]  # one re-prompt fewer
    del new["menus"]["main_3"]
    lines = [c.line() for c in drift(OLD, new, same)]
    assert lines == [
        "menu main_3: (keys 3) is gone: no key leads to it any more",
        "menu main: key 1 now leads to a hang-up, not a queue (agents agent1)",
        "menu main: key 3 now leads to a hang-up, not the menu at keys 3",
        "menu main: key 4 was added: it now leads to a hang-up",
        "menu main: key 9 was removed: it led to a hang-up, now the invalid-key message",
        "menu main: no input now leads to the menu at the answer then a hang-up, not the menu at the answer "
        "then the menu at the answer then a hang-up",
    ]


def test_a_prompt_whose_audio_changed_is_named_with_its_score() -> None:
    def score(old: str, new: str) -> float | None:
        return 0.31 if old == "main" else 0.97
    [change] = drift(OLD, copy.deepcopy(OLD), score)
    assert change.line() == ("menu main: prompt main changed: the audio played now matches the old recording "
                             "with score 0.31 (at least 0.8 for the same)")
