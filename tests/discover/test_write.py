"""What a crawl writes, from a map built by hand (no call): names, the map, the picture, prompts, and a
suite every scenario of which loads as ``ccharness validate`` loads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.audio.tone import dual_tone
from harness.discover.clips import ClipBook
from harness.discover.model import NO_INPUT, Edge, IvrMap, Node, Outcome
from harness.discover.write import write_all
from harness.steps.registry import load_scenario
from harness.targets.model import Target
from harness.targets.profile import load_prompt_library, load_target

pytestmark = pytest.mark.unit
PROFILE = Path(__file__).parents[2] / "fixtures" / "targets" / "reference.yaml"


def book() -> ClipBook:
    b = ClipBook()
    for i, (lo, hi) in enumerate([(400, 900), (500, 1200), (600, 1500), (700, 1800), (800, 2100)], 1):
        b.clips[f"clip{i}"] = dual_tone(lo, hi, 0.6 + 0.1 * i, -20.0).astype(np.float32)
    b.made = 5
    return b


def ivr() -> IvrMap:
    m = IvrMap("main", calls=14, seconds=80.0)
    m.nodes = {"n0": Node("n0", (), ["clip1", "clip2"]), "n1": Node("n1", ("3",), ["clip3"])}
    m.edges = [
        Edge("n0", "1", Outcome("queue", [], agents=("agent1",))),
        Edge("n0", "3", Outcome("menu", ["clip3"], to="n1")),
        Edge("n0", "9", Outcome("hangup", ["clip4"])),
        Edge("n0", "4", Outcome("menu", ["clip5", "clip2"], to="n0"), invalid=True),
        Edge("n0", "5", Outcome("menu", ["clip5", "clip2"], to="n0"), invalid=True),
        Edge("n0", NO_INPUT, Outcome("menu", ["clip2"], to="n0"), [Outcome("hangup", ["clip4"])]),
        Edge("n1", "0", Outcome("menu", ["clip2"], to="n0")),
    ]
    return m


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> Target:
    """The reference profile, its passwords set (to anything: nothing registers)."""
    for n in range(1001, 1005):
        monkeypatch.setenv(f"CC_REF_PW_{n}", "x")
        monkeypatch.setenv(f"CC_REF_PW_{n + 1000}", "x")
    return load_target(PROFILE)


def test_the_map_names_menus_by_their_keys_and_prompts_by_where_they_are_first_heard(
        tmp_path: Path, target: Target) -> None:
    written = write_all(ivr(), book(), tmp_path / "out", target)
    doc = yaml.safe_load(written.map.read_text(encoding="utf-8"))
    assert list(doc["menus"]) == ["main", "main_3"]
    main = doc["menus"]["main"]
    assert main["prompt"] == ["main_intro", "main"]
    assert main["keys"]["1"] == {"heard": [], "queue": ["agent1"]}
    assert main["keys"]["4"] == {"heard": ["main_invalid", "main"], "menu": "main", "invalid": True}
    assert main["keys"]["9"] == {"heard": ["main_key9"], "hangup": True}
    assert main["no_input"] == {"heard": ["main"], "menu": "main", "then": [{"heard": ["main_key9"], "hangup": True}]}
    assert doc["menus"]["main_3"]["keys"]["0"]["menu"] == "main"
    assert "<svg" in written.picture.read_text(encoding="utf-8") and "main_3" in written.picture.read_text()
    library = load_prompt_library(written.prompts)
    assert set(library.prompts) == {"main_intro", "main", "main_3", "main_key9", "main_invalid"}
    names = sorted(p.name for p in written.suite)
    assert names == ["main_3_key0.scenario.yaml", "main_invalid.scenario.yaml", "main_key1.scenario.yaml",
                     "main_key3.scenario.yaml", "main_key9.scenario.yaml", "main_no_input.scenario.yaml"]
    for scenario in written.suite:  # as ccharness validate loads them
        load_scenario(scenario, library, target)
    key9 = (tmp_path / "out" / "suite" / "main_key9.scenario.yaml").read_text()
    assert 'send_dtmf: {digits: "9"}' in key9 and "prompt: main_key9" in key9 and "expect_hangup" in key9
    assert "expect_agent: {agents: [agent1]" in (tmp_path / "out" / "suite" / "main_key1.scenario.yaml").read_text()


def test_a_second_crawl_into_the_same_folder_keeps_the_names_the_user_gave(
        tmp_path: Path, target: Target) -> None:
    out = tmp_path / "out"
    written = write_all(ivr(), book(), out, target)
    text = written.map.read_text(encoding="utf-8").replace("main_3", "service").replace("main_key9", "hours")
    written.map.write_text(text, encoding="utf-8")
    (out / "prompts" / "main_key9.wav").rename(out / "prompts" / "hours.wav")
    again = write_all(ivr(), book(), out, target)
    doc = yaml.safe_load(again.map.read_text(encoding="utf-8"))
    assert list(doc["menus"]) == ["main", "service"]
    assert doc["menus"]["main"]["keys"]["9"]["heard"] == ["hours"]
