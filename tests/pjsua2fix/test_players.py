"""pjsua2fix.players: WAV players whose end of file cannot crash the process (pjproject #4812).

Each case runs pjsua2 in a fresh interpreter (``player_probe.py``): pjsua2 has one
library per process, and a crash must fail the test, not the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sip  # real pjsua2 media (a null sound device's clock), no SIP peer

PROBE = Path(__file__).with_name("player_probe.py")
ROOT = Path(__file__).resolve().parents[2]


def probe(*args: object, timeout: float = 60) -> dict[str, object]:
    """The probe's JSON line; a crash or hang fails with its exit status and output."""
    proc = subprocess.run([sys.executable, str(PROBE), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"the player probe {args[0]} exited with {proc.returncode} "
        f"({'SIGSEGV' if proc.returncode == -11 else 'see its output'}):\n{proc.stdout}\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_plain_pjsua2_player_calls_back_at_its_end_which_is_the_race() -> None:
    """The other side of the proof: unpatched, pjmedia's event thread calls the player at EOF."""
    assert probe("eof", 0.5, "plain")["eofs"] == 1


def test_an_opened_player_plays_to_its_end_and_is_never_called_back() -> None:
    assert probe("eof", 0.5, "patched")["eofs"] == 0


def test_players_opened_and_closed_out_of_order_each_find_their_own_port() -> None:
    out = probe("ids", 0.5)
    assert len(set(out["slots"])) == 5  # type: ignore[arg-type]  # five players, five conference slots
    assert (out["open"], out["after_close"]) == (4, 3)


def test_a_looping_player_still_rewinds_and_a_one_shot_one_still_stops() -> None:
    out = probe("loop", 0.5)
    assert out["looped"] is True
    assert out["once_level"] == 0 and out["again_level"] > 0  # type: ignore[operator]


def test_players_destroyed_right_at_their_end_do_not_kill_the_process() -> None:
    """The crash itself: 200 players, each destroyed within 30 ms of its EOF.  Unpatched, such
    runs die in SIGSEGV now and then on a busy host (``tests/benchmarks/bench_player_eof.py``),
    too rarely for a test to show; patched there is no callback left to race."""
    assert probe("race", 0.06, 200, "patched", timeout=120)["cycles"] == 200
