"""The recording step's own path, driven through any adapter without placing a call.

``check_found`` does what ``expect_recording`` does once the call has ended --
locate the call's recording (by Call-ID, else by the call's marker among the
window's candidates), download it, analyse it and judge it -- with a call
whose caller played its marker 20 s ago.  Only the SIP side is left out, so
the adapter tests can show a recording found through their adapter passes
the same check a real run makes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from harness.audio.marker import marker_for, render
from harness.audio.wav import write_wav
from harness.checks.recording import Expectation, analyse, judge, measurements
from harness.checks.recording_search import Downloads
from harness.steps.recorded import PlayedMarker, declared_days, locate
from harness.targets.adapter import Platform
from harness.targets.model import Target


def recording(path: Path, call_id: str = "someone-else", seconds: float = 2.0) -> Path:
    """A real 8 kHz WAV holding the caller's marker of ``call_id`` at 0.3 s."""
    track = np.zeros(int(seconds * 8000), np.float32)
    tone = render(marker_for(call_id, "caller"))
    track[2400:2400 + tone.size] += tone
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, track)
    return path


@dataclass(frozen=True)
class Verdict:
    name: str
    found_by: str
    problems: list[str]
    figures: dict[str, Any]


def step_run(target: Target | None = None) -> Any:
    """What ``locate`` needs of a ``ScenarioRun``: no phones, a fresh download cache, and the
    profile's ``adapter:`` (for how names carry times; none by default)."""
    profile = target or SimpleNamespace(adapter={}, path=Path("/profiles/t.yaml"))
    return SimpleNamespace(budget=lambda s: s,
                           scenario=SimpleNamespace(path=Path("c.scenario.yaml")),
                           board=IdleBoard(),  # the step pumps phone events while it polls
                           target=profile, downloads=Downloads())


def check_found(platform: Platform, call_id: str, work: Path, require_auth: bool = True,
                within: float = 5.0, now: datetime | None = None,
                target: Target | None = None) -> Verdict:
    """``expect_recording`` for the caller's marker of ``call_id``, through ``platform``.

    ``now`` is the moment the fake call is placed around: the test's own clock, so the
    recordings it dated from that clock fall in the call's window however long after the
    module was imported the test runs (a full suite takes half an hour)."""
    wall = (now or datetime.now(UTC)).timestamp()
    markers = {"caller": PlayedMarker(marker_for(call_id, "caller"), 0.0, wall - 20)}
    run = step_run(target)
    state = SimpleNamespace(
        timeline=SimpleNamespace(sip_call_id=call_id, events=[SimpleNamespace(wall=wall - 30)]),
        agent_leg=None, identities={},
        markers=markers)
    step = SimpleNamespace(within=within, call="c1")
    work.mkdir(parents=True, exist_ok=True)
    rec, how = locate(cast(Any, run), platform, cast(Any, state), cast(Any, step), work)
    path = platform.fetch(rec, work)
    analysis = analyse(path, {p: m.marker for p, m in markers.items()})
    status = platform.fetch_unauthenticated(rec) if require_auth else None
    expect = Expectation(("caller",), None, 2.0, rec.sha256, status)
    problems, _ = judge(analysis, expect)
    return Verdict(rec.name, how, problems, measurements(analysis, expect))


def retention_source(target: Target, platform: Platform) -> tuple[int, str]:
    """The retention the step takes, and whom it credits with it."""
    return declared_days(cast(Any, SimpleNamespace(target=target)), platform)


class IdleBoard:
    """A switchboard with no phones: waiting only lets time pass (until the condition holds)."""

    def wait(self, condition, timeout, expected, phones=None, timeline=None):  # type: ignore[no-untyped-def]

        end = time.monotonic() + timeout
        while (result := condition()) is None:
            if time.monotonic() >= end:
                raise TimeoutError(expected())
            time.sleep(0.02)
        return result

    def pump(self, timeout: float) -> None:
        """No phones: nothing to receive."""


NOW = datetime.now(UTC)


def target(folder: Path | str, **extra: Any) -> Target:
    """A profile whose adapter reads recordings from ``folder`` (adapter type directory)."""
    return Target(name="t", path=Path("/profiles/directory.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None,
                  adapter={"type": "directory", "folder": str(folder), **extra})


def written(path: Path, ago_s: float, call_id: str = "someone-else") -> Path:
    """A recording at ``path`` holding ``call_id``'s caller marker, last written ``ago_s`` seconds ago."""
    recording(path, call_id)
    moment = (NOW - timedelta(seconds=ago_s)).timestamp()
    os.utime(path, (moment, moment))
    return path
