"""Prompt capture on an IVR that plays its greeting straight into the menu.

The reference platform runs with its quirk ``ivr_prompts_stitched``: the main
menu begins 0.16 s after the welcome ends, a gap shorter than the pauses inside
the menu, so no silence tells the two apart.  With the welcome already in the
profile's library the capture cuts the take at the welcome's end (found by
correlation) and the menu it writes is the platform's own menu; with neither
known it says plainly that it captured both as one file, and never ``ok``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness.audio.prompt import find_prompt
from harness.audio.wav import read_wav
from tests.prompts.test_capture import RATE, capture, padded, scenarios, sounding
from tests.reference.conftest import PROMPTS, RefPlatform

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

STITCHED = "ivr_prompts_stitched"
GAP_S = 0.16
JITTER_S = 0.5  # the most a take's length may differ by when cut right: the jitter buffer's depth
MENU_WALK = """name: {name}
deadline: 60s
steps:
  - call: {{to: "did:main"}}
  - expect_answer: {{within: 5s}}
  - expect_prompt: {{prompt: welcome, within: 3s}}
  - expect_prompt: {{prompt: main_menu, within: 2s}}
  - hangup
"""


def source(name: str) -> np.ndarray:
    """The WAV the platform plays for ``name``."""
    return read_wav(PROMPTS / f"{name}.wav")[0]


@pytest.fixture(scope="module")
def stitched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefPlatform]:
    ref = RefPlatform(tmp_path_factory.mktemp("stitched"), (STITCHED,), workers=1)
    try:
        yield ref.start()
    finally:
        ref.stop()


def profile(folder: Path, ref: RefPlatform, known: tuple[str, ...],
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """A profile for ``ref`` whose library holds only the platform's own ``known`` prompts."""
    folder.mkdir(parents=True, exist_ok=True)
    library = {"prompts": {p: {"file": str(PROMPTS / f"{p}.wav")} for p in known}}
    (folder / "prompts.yaml").write_text(yaml.safe_dump(library), encoding="utf-8")
    for user in ("1001", "1002"):
        monkeypatch.setenv(f"CC_REF_PW_{user}", ref.password(user))
    spec = {
        "name": "stitched",
        "platform": {"host": "127.0.0.1", "port": ref.sip_port, "transport": "udp",
                     "domain": "127.0.0.1"},
        "managed": "none",
        "prompts": str(folder / "prompts.yaml"),
        "dtmf_method": "rfc4733",
        "dids": {"main": "4000"},
        "accounts": {"caller": {"username": "1001", "password": "${ENV:CC_REF_PW_1001}"},
                     "caller2": {"username": "1002", "password": "${ENV:CC_REF_PW_1002}"}},
    }
    path = folder / "target.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def row(output: str, prompt: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{prompt} "))


def test_with_the_welcome_known_the_take_is_cut_at_its_end_and_the_menu_is_the_platforms(
        stitched: RefPlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = profile(tmp_path, stitched, ("welcome", "opening_hours"), monkeypatch)
    folder = scenarios(tmp_path / "scenarios", menu=MENU_WALK)
    code, output = capture(capsys, target, str(folder), "--out", str(tmp_path / "out"))
    assert code == 0, output
    menu, true_menu = read_wav(tmp_path / "out" / "main_menu.wav")[0], source("main_menu")
    forward, backward = find_prompt(padded(true_menu), menu), find_prompt(padded(menu), true_menu)
    assert forward is not None and forward.score >= 0.9, (forward, output)
    assert backward is not None and backward.score >= 0.9, (backward, output)
    # A take may grow by what the phone's jitter buffer (0.5 s) made up for on a busy host (0.21 s
    # seen with three test workers on two cores); a cut in the wrong place is the welcome's 6.5 s off.
    assert abs(menu.size / RATE - sounding(true_menu)) <= JITTER_S, (menu.size / RATE, output)
    assert find_prompt(padded(menu), source("welcome")) is None  # the welcome is not in it
    welcome = read_wav(tmp_path / "out" / "welcome.wav")[0]
    assert abs(welcome.size / RATE - sounding(source("welcome"))) <= JITTER_S, (welcome.size / RATE, output)
    assert find_prompt(padded(welcome), true_menu) is None
    assert "cut from welcome+main_menu" in row(output, "main_menu"), output
    assert "cut from welcome+main_menu" in row(output, "welcome"), output
    cut = next(line for line in output.splitlines() if line.startswith("  main_menu: ") and ", sound " in line)
    assert " s, sound " in cut and "pauses at " in cut, cut


def test_with_neither_known_it_says_plainly_it_cannot_split_and_never_ok(
        stitched: RefPlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = profile(tmp_path, stitched, ("opening_hours",), monkeypatch)
    folder = scenarios(tmp_path / "scenarios", menu=MENU_WALK)
    code, output = capture(capsys, target, str(folder), "--out", str(tmp_path / "out"))
    assert code == 1, output
    plain = ("welcome and main_menu were heard as one sound with no pause of 1.0 s between them; "
             "captured together as welcome; give one of them alone (another path, or --only "
             "main_menu after capturing welcome) to split them")
    assert plain in output, output
    assert " ok" not in row(output, "welcome"), output
    both = read_wav(tmp_path / "out" / "welcome.wav")[0]
    whole = sounding(source("welcome")) + GAP_S + sounding(source("main_menu"))
    assert abs(both.size / RATE - whole) <= 0.3, (both.size / RATE, whole, output)
    text = (tmp_path / "out" / "prompts.yaml").read_text(encoding="utf-8")
    assert "holds welcome+main_menu" in text, text
    # The report shows the 0.16 s between them among the take's pauses, where the welcome ends.
    cut = next(line for line in output.splitlines() if line.startswith("  welcome: ") and ", sound " in line)
    pauses = [(float(at), float(long)) for at, long in re.findall(r"([0-9.]+) s \(([0-9.]+) s\)", cut)]
    assert any(abs(at - 6.47) <= 0.1 and 0.1 <= long <= 0.25 for at, long in pauses), cut
