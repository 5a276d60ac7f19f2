"""The reference platform's ``up`` and ``status`` read its state file safely.

``run`` writes ``platform.json`` once it is ready and ``up`` polls it every
0.1 s. The file used to be written in place, so ``up`` could read it empty
and die with a JSONDecodeError although the platform was up (CI at session 7:
eight IVR tests lost their platform that way). Now it is replaced whole, and a
partial file -- as a writer cut off mid-write leaves it -- reads as "not yet".
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from harness.sip.config import Behaviour
from tests.reference.conftest import PROJECT, Desk, RefPlatform, Until, _cli

pytestmark = pytest.mark.platform


def _status(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli("status", "--state-dir", str(state_dir)),
                          cwd=PROJECT, capture_output=True, text=True, timeout=30, check=False)


def test_up_waits_past_a_partial_state_file_and_status_calls_it_not_running(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "platform.json").write_text('{"pid": 12')  # cut off mid-write
    quiet = _status(state_dir)
    assert quiet.returncode == 3 and "not running" in quiet.stdout, quiet.stdout + quiet.stderr
    ref = RefPlatform(state_dir, workers=1)
    try:
        ref.start()  # raised "did not start: ... JSONDecodeError" when up read the partial file
        running = _status(state_dir)
        assert running.returncode == 0 and f"SIP 127.0.0.1:{ref.sip_port}" in running.stdout, running.stdout
        assert not list(state_dir.glob(".*.tmp")), "a temporary state file was left behind"
    finally:
        ref.stop()
    assert _status(state_dir).returncode == 3


@pytest.mark.sip
def test_up_sized_for_a_load_holds_its_calls_and_queues_only_its_agents(tmp_path: Path) -> None:
    """``up --size-for 10 --agents ...`` (what ``ccharness load`` asks of the reference it
    starts): six media workers where the settings say two, every queue offers the load's
    agents -- a new account 2006 among them -- and a real call to the sales queue reaches it."""
    load_agents = ("2005", "2006")
    ref = RefPlatform(tmp_path / "state", workers=6, overrides={"workers.count": 2},
                      up_args=("--size-for", "10", "--agents", ",".join(load_agents)))
    try:
        ref.start()
        running = _status(tmp_path / "state")
        assert "6 media workers (12 concurrent calls)" in running.stdout, running.stdout
        queues = ref.queues()
        assert {name: tuple(q["agents"]) for name, q in queues.items()} == {
            name: load_agents for name in queues}, queues
        desk = Desk(ref, tmp_path / "phones")
        try:
            desk.start({"2006": Behaviour()})
            since = time.monotonic()
            call = desk.connect("4001")
            leg = desk.get(Until(lambda: next((leg for leg in desk.offers("2006", since)
                                               if leg.last("call", state="CONFIRMED")), None),
                                 10.0, "agent 2006 to answer the sales call"))
            desk.finish(call, leg)
        finally:
            desk.close()
    finally:
        ref.stop()


def test_a_load_refuses_a_running_reference_too_small_for_its_callers(tmp_path: Path) -> None:
    """A reference already running (started by hand, 2 calls at once) is used as it is; a load
    of 10 callers is refused before a call with the hint to stop it, since the load would count
    the platform's refusals as failures. A load it holds runs on it and leaves it running."""
    from harness.errors import TargetError
    from harness.runner.platform import ReferenceSize, reference_platform

    ref = RefPlatform(tmp_path / "state", workers=1)
    saved = dict(os.environ)  # reference_platform loads the platform's passwords into it
    try:
        ref.start()
        with pytest.raises(TargetError, match=r"holds 2 calls at once, but this load runs 10 callers"
                                              r".*ccharness reference down"):
            with reference_platform(tmp_path / "state", (), ReferenceSize(10)):
                pass
        with reference_platform(tmp_path / "state", (), ReferenceSize(2)):
            pass
        assert _status(tmp_path / "state").returncode == 0, "the user's platform was stopped"
    finally:
        os.environ.clear()
        os.environ.update(saved)
        ref.stop()
