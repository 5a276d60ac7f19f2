"""The reference platform's ``up`` and ``status`` read its state file safely.

``run`` writes ``platform.json`` once it is ready and ``up`` polls it every
0.1 s. The file used to be written in place, so ``up`` could read it empty
and die with a JSONDecodeError although the platform was up (CI at session 7:
eight IVR tests lost their platform that way). Now it is replaced whole, and a
partial file -- as a writer cut off mid-write leaves it -- reads as "not yet".
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.reference.conftest import PROJECT, RefPlatform, _cli

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
