"""A reference platform started for one test, and scenarios run against it as the plugin runs them.

The platform is driven as a program (``python -m fixtures.reference up/down``)
on a block of free ports; its 100-port slots are locked with the same lock files
as ``tests/reference`` takes, so the two never share a port when run side by side.
The target profile is written into the test's folder from
``fixtures/targets/reference.yaml``, with the ports moved and the passwords
left as ``${ENV:...}`` references to the platform's generated ``secrets.env``.
"""

from __future__ import annotations

import fcntl
import json
import random
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
import yaml

from harness.runner.run import ScenarioRun
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.model import Target
from harness.targets.profile import load_prompt_library, load_target

PROJECT = Path(__file__).resolve().parents[2]
PROFILE = PROJECT / "fixtures" / "targets" / "reference.yaml"
UP_TIMEOUT, DOWN_TIMEOUT = 70.0, 30.0
WORKERS = 3
_LOCKS = Path(tempfile.gettempdir()) / "ccharness-reference-ports"  # shared with tests/reference
_PORT_LOW, _PORT_HIGH, _RTP_OFFSET = 23000, 32700, 100


def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _lock_slots(first: int, count: int) -> list[IO[str]] | None:
    """Exclusive locks on the 100-port slots ``first ..`` (``<slot * 100>.lock``), or None."""
    locks: list[IO[str]] = []
    for slot in range(first, first + count):
        lock = open(_LOCKS / f"{slot * 100}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            _release(locks)
            return None
        locks.append(lock)
    return locks


def _release(locks: list[IO[str]]) -> None:
    for lock in locks:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


@contextmanager
def _port_block() -> Iterator[int]:
    """A base whose SIP, worker, API and RTP ports are free; its 100-port slots locked while in use.

    The same slot lock files as ``tests/reference`` takes, so the two never share a port.
    """
    _LOCKS.mkdir(exist_ok=True)
    size = _RTP_OFFSET + 100 * WORKERS
    slots = list(range(_PORT_LOW // 100, (_PORT_HIGH - size) // 100))
    random.shuffle(slots)
    for slot in slots:
        locks = _lock_slots(slot, size // 100)
        if locks is None:
            continue
        base = slot * 100
        udp = [base, *range(base + 1, base + 1 + WORKERS), *range(base + _RTP_OFFSET, base + size)]
        tcp = [base, base + 1 + WORKERS]
        if all(_free(p, socket.SOCK_DGRAM) for p in udp) and all(
            _free(p, socket.SOCK_STREAM) for p in tcp
        ):
            try:
                yield base
            finally:
                _release(locks)
            return
        _release(locks)
    raise RuntimeError(f"no free block of {size} ports between {_PORT_LOW} and {_PORT_HIGH}")


def _cli(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fixtures.reference", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def _profile(folder: Path, base: int) -> Path:
    """The reference profile with this platform's ports; ``managed: none`` (the test manages it)."""
    spec = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    spec["platform"]["port"] = base
    spec["managed"] = "none"
    spec["prompts"] = str((PROFILE.parent / spec["prompts"]).resolve())
    spec["adapter"]["url"] = f"http://127.0.0.1:{base + 1 + WORKERS}"
    path = folder / "reference-target.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Reference:
    """A running reference platform and a target profile for it."""

    state_dir: Path
    target: Target
    faults: tuple[str, ...]


@contextmanager
def reference_platform(folder: Path, monkeypatch: pytest.MonkeyPatch,
                       faults: tuple[str, ...] = ()) -> Iterator[Reference]:
    """Start the platform with ``faults``; its passwords go into the environment; stop it after."""
    state = folder / "platform"
    with _port_block() as base:
        overrides = {"sip_port": base, "workers.count": WORKERS, "workers.first_port": base + 1,
                     "api.port": base + 1 + WORKERS, "workers.rtp_base": base + _RTP_OFFSET}
        args = ["up", "--state-dir", str(state), "--overrides", json.dumps(overrides)]
        try:
            done = _cli(*args, *[a for f in faults for a in ("--fault", f)], timeout=UP_TIMEOUT)
            if done.returncode != 0:
                raise RuntimeError(f"the reference platform (faults {list(faults)}) did not start:\n"
                                   f"{done.stdout}{done.stderr}")
            for line in (state / "secrets.env").read_text().splitlines():
                if "=" in line and not line.startswith("#"):
                    monkeypatch.setenv(*line.split("=", 1))
            yield Reference(state, load_target(_profile(folder, base)), faults)
        finally:
            _cli("down", "--state-dir", str(state), timeout=DOWN_TIMEOUT)


def run_scenario(platform: Reference, scenario: Path, reports: Path, run_id: str) -> ScenarioRun:
    """Run one scenario as the pytest plugin does; raises its failure or error, records either way."""
    target = platform.target
    prompts = load_prompt_library(target.prompts) if target.prompts else None
    loaded = load_scenario(scenario, prompts, target)
    work = reports / run_id / scenario.name.removesuffix(".scenario.yaml")
    run = ScenarioRun(loaded, target, prompts, work, kinds=BY_MODEL)
    try:
        run.execute()
    finally:
        run.close()
        run.write_traces()
    return run
