"""``ccharness discover`` against the running reference platform, its map checked against the platform's
own configuration (``platform.yaml``), and the suite it generates run against the same platform.

The oracle is the reference's second IVR (DID deep, 4010): three menus (the root, key 1, then key 1
again), a key straight to a queue (2), a loop back to the root (0 on the lower menus), a message and a
hang-up (9 at the bottom), every other key refused with the invalid-option message, and no input
repeating the menu until max_tries, then goodbye and a hang-up. The crawl must find exactly that; the
menus' prompts it cut must be the platform's prompt files; and every generated scenario must pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.audio.prompt import find_prompt
from harness.audio.wav import read_wav
from harness.discover.crawl import Settings
from harness.discover.model import KEYS
from harness.discover.run import Request, discover
from harness.runner.run import ScenarioRun
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.model import Target
from harness.targets.profile import load_prompt_library, load_target
from tests.reference.conftest import PROJECT, RefPlatform
from tests.reference.scenario_run import profile_for

pytestmark = [
    pytest.mark.sip,
    pytest.mark.platform,
    pytest.mark.crawl,  # about 6 minutes: opt-in (--crawl), outside the CI run's half hour
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

REFERENCE = PROJECT / "fixtures" / "reference"
CONFIG = yaml.safe_load((REFERENCE / "platform.yaml").read_text(encoding="utf-8"))
QUEUE_AGENTS = {"2001": "agent1", "2002": "agent2", "2003": "agent3", "2004": "agent4"}


def expected(flow: str, seen: dict[str, str] | None = None, path: str = "") -> dict[str, dict[str, Any]]:
    """What the crawl must find under ``flow``: per menu path, per key and for no input, the outcome."""
    seen = {} if seen is None else seen
    if flow in seen:
        return {}
    seen[flow] = path
    spec = CONFIG["ivr"][flow]
    menus: dict[str, dict[str, Any]] = {path: {"flow": flow}}
    for key in KEYS:
        action = spec["keys"].get(key)
        if action is None:
            menus[path][key] = ("menu", path, "invalid")
        elif "menu" in action:
            menus[path][key] = ("menu", action["menu"], None)
            menus.update(expected(action["menu"], seen, path + key))
        elif "queue" in action:
            agents = {QUEUE_AGENTS[a] for a in CONFIG["queues"][action["queue"]]["agents"]}
            menus[path][key] = ("queue", agents, None)
        elif action.get("then") == "hangup":
            menus[path][key] = ("hangup", action["play"], None)
    menus[path]["no_input"] = ["menu"] * (spec["max_tries"] - 1) + ["hangup"]
    return menus


def test_the_crawl_finds_the_configured_tree_and_its_suite_passes(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ref = RefPlatform(tmp_path / "platform").start()
    try:
        for name, value in ref.secrets.items():
            monkeypatch.setenv(name, value)
        target = load_target(profile_for(ref, tmp_path))
        # the reference's prompts pause at most 0.2 s inside: a second of quiet is the platform waiting
        found = discover(Request(target, "deep", tmp_path / "out", Settings(parallel=4, end_silence=1.0)))
        assert not found.failures, found.failures
        doc = yaml.safe_load(found.written.map.read_text(encoding="utf-8"))
        menus = {m["path"]: m for m in doc["menus"].values()}
        names = {m["path"]: name for name, m in doc["menus"].items()}
        want = expected("deep")
        assert set(menus) == set(want), (sorted(menus), sorted(want))
        for path, spec in want.items():
            menu = menus[path]
            for key in KEYS:
                kind, where, invalid = spec[key]
                got = menu["keys"][key]
                if kind == "menu":
                    target_path = want_path(want, where) if invalid is None else path
                    assert got.get("menu") == names[target_path], (path, key, got)
                    assert bool(got.get("invalid")) == (invalid == "invalid"), (path, key, got)
                elif kind == "queue":
                    assert set(got.get("queue") or ()) and set(got["queue"]) <= where, (path, key, got)
                else:
                    assert got.get("hangup") is True, (path, key, got)
            chain = [menu["no_input"], *(menu["no_input"].get("then") or [])]
            assert ["menu" if "menu" in o else "hangup" for o in chain] == spec["no_input"], (path, chain)
        library = found.written.prompts.parent
        for path, spec in want.items():  # each menu's own clip is the platform's menu prompt
            menu_clip = menus[path]["prompt"][-1]
            heard, _ = read_wav(library / f"{menu_clip}.wav")
            reference, _ = read_wav(REFERENCE / "prompts" / f"{CONFIG['ivr'][spec['flow']]['menu']}.wav")
            assert find_prompt(heard, reference, 0.7) is not None, (path, menu_clip)
        assert "<svg" in found.written.picture.read_text(encoding="utf-8")
        assert len(found.written.suite) >= 8, found.written.suite
        for scenario in found.written.suite:  # each names the crawl's prompts: the profile stays as it is
            run_own_prompts(target, scenario, tmp_path / "runs" / scenario.stem)  # raises on a failure
    finally:
        ref.stop()
    print(f"crawl of DID deep: {found.map.calls} calls, {found.map.seconds:.0f}s")


def run_own_prompts(target: Target, scenario: Path, work: Path) -> None:
    """Run ``scenario`` as the pytest plugin does: with the prompt library it names itself."""
    loaded = load_scenario(scenario, None, target)
    assert loaded.prompts is not None, scenario
    library = load_prompt_library(loaded.prompts)
    run = ScenarioRun(load_scenario(scenario, library, target), target, library, work, kinds=BY_MODEL)
    try:
        run.execute()
    finally:
        run.close()


def want_path(want: dict[str, dict[str, Any]], flow: str) -> str:
    return next(path for path, spec in want.items() if spec["flow"] == flow)


def test_a_changed_route_is_reported_as_drift_and_the_command_exits_1(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Crawl the conformant platform, then, as a user would, ``ccharness discover --compare`` the platform
    with keys 1 and 2 swapped in every menu (ivr_wrong_route): the drift names the moved routes."""
    first = RefPlatform(tmp_path / "platform").start()
    try:
        for name, value in first.secrets.items():
            monkeypatch.setenv(name, value)
        discover(Request(load_target(profile_for(first, tmp_path / "a")), "deep", tmp_path / "before",
                         Settings(parallel=4, end_silence=1.0)))
    finally:
        first.stop()
    second = RefPlatform(tmp_path / "platform-fault", ("ivr_wrong_route",)).start()
    try:
        for name, value in second.secrets.items():
            monkeypatch.setenv(name, value)
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "discover", "--target", str(profile_for(second, tmp_path / "b")),
             "--did", "deep", "--out", str(tmp_path / "after"), "--parallel", "4", "--end-silence", "1.0",
             "--compare", str(tmp_path / "before" / "ivr-map.yaml")],
            cwd=PROJECT, capture_output=True, text=True, timeout=600, check=False)
    finally:
        second.stop()
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert "DRIFT menu deep: key 1 now leads to a queue" in said, said
    assert "DRIFT menu deep: key 2 now leads to the menu at keys 2, not a queue" in said, said
    assert "drift: none" not in said
