"""How long ``expect_recording``'s marker search takes on a busy spool: prints a table.

    .venv/bin/python tests/benchmarks/bench_recording_search.py [--others 500] [--seconds 2]

A folder read through the directory adapter stands in for a platform's spool
whose names carry no Call-ID, so the call's recording can only be told by its
audio marker.  Four spools, each searched with the step's own code
(``locate``, then the verdict ``expect_recording`` gives):

1. the call's recording alone;
2. ``--others`` older recordings of other calls (names written to the minute,
   last written 1 to 9 minutes before the call) plus the call's, whose name
   sorts first;
3. ``--others`` older recordings named in the call's own minute, written in
   the seconds before the call began, the call's sorting first by name: the
   spool the old search (the last 20 in the adapter's order, by name within
   the minute) failed on;
4. the worst case for the order: the same recordings with no time to tell
   them apart (names without a time, one modification time for all), the
   call's sorting last by name, so every other recording is scanned first.

Each row gives the search's wall time, how many recordings it downloaded and
scanned, how many times it listed the spool, whether the search before this
one (the last 20 the adapter listed) would have held the call's recording,
and the verdict.  The call ran for 10 s and its recording was last written
0.5 s after the hang-up.  Not a pytest test (``tests/benchmarks`` is in
``norecursedirs``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from harness.audio.marker import marker_for
from harness.checks.recording import Expectation, analyse, judge
from harness.steps.recorded import PlayedMarker, locate
from harness.targets.adapter import Platform, RecordingInfo
from harness.targets.model import Target
from harness.targets.registry import adapter_for
from tests.targets.recording_check import recording, step_run

CALL = "YmVuY2gtY2FsbA@127.0.0.1"
MINUTE = "{start:%Y%m%d-%H%M}-{caller}"


class Counted:
    """The directory platform, counting listings of the window and downloads."""

    def __init__(self, platform: Platform) -> None:
        self.platform, self.listings, self.fetched = platform, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.platform, name)

    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        self.listings += call_id is None
        return self.platform.find_recordings(call_id, since, until, identities)

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        self.fetched += 1
        return self.platform.fetch(rec, dest)


def target(folder: Path, **extra: Any) -> Target:
    return Target(name="bench", path=Path("/profiles/bench.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None,
                  adapter={"type": "directory", "folder": str(folder), **extra})


def written(path: Path, moment: datetime, seconds: float, call_id: str = "someone-else") -> None:
    recording(path, call_id, seconds)
    os.utime(path, (moment.timestamp(), moment.timestamp()))


def busy(folder: Path, now: datetime, others: int, seconds: float) -> None:
    for i in range(others):
        moment = now - timedelta(seconds=60 + 480 * i / max(1, others))
        written(folder / f"{moment:%Y%m%d-%H%M}-{2000 + i}.wav", moment, seconds)
    written(folder / f"{now - timedelta(seconds=30):%Y%m%d-%H%M}-1001.wav",
            now - timedelta(seconds=29.5), seconds, CALL)


def same_minute(folder: Path, now: datetime, others: int, seconds: float) -> None:
    call_minute = f"{now - timedelta(seconds=30):%Y%m%d-%H%M}"
    for i in range(others):
        moment = now - timedelta(seconds=41 + 0.05 * i)
        written(folder / f"{call_minute}-{2000 + i}.wav", moment, seconds)
    written(folder / f"{call_minute}-1001.wav", now - timedelta(seconds=29.5), seconds, CALL)


def untimed(folder: Path, now: datetime, others: int, seconds: float) -> None:
    moment = now - timedelta(seconds=29.5)
    for i in range(others):
        written(folder / f"agent-{2000 + i}.wav", moment, seconds)
    written(folder / "zz-agent-1001.wav", moment, seconds, CALL)


def search(folder: Path, now: datetime, work: Path, within: float, **names: Any
           ) -> tuple[float, Counted, str, str, list[str]]:
    profile = target(folder, **names)
    platform = Counted(adapter_for(profile))
    wall = now.timestamp()
    state = SimpleNamespace(
        timeline=SimpleNamespace(sip_call_id=CALL, events=[SimpleNamespace(wall=wall - 40),
                                                           SimpleNamespace(wall=wall - 30)]),
        markers={"caller": PlayedMarker(marker_for(CALL, "caller"), 0.0, wall - 35)})
    step = SimpleNamespace(within=within, call="c1")
    work.mkdir(parents=True)
    began = time.perf_counter()
    rec, how = locate(step_run(profile), cast(Platform, platform), cast(Any, state),
                       cast(Any, step), work)
    took = time.perf_counter() - began
    analysis = analyse(platform.platform.fetch(rec, work), {"caller": marker_for(CALL, "caller")})
    problems, _ = judge(analysis, Expectation(("caller",), None, 2.0, None, None))
    return took, platform, rec.name, how, problems


def old_choice(platform: Platform, name: str, now: datetime) -> str:
    """Whether the search before this one (the last 20 the adapter listed) held the call's."""
    since, until = now - timedelta(minutes=10, seconds=30), now + timedelta(minutes=10)
    last = list(reversed(platform.find_recordings(None, since, until)))[:20]
    return "yes" if name in [r.name for r in last] else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--others", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each recording")
    parser.add_argument("--within", type=float, default=60.0)
    args = parser.parse_args()
    now, n, length = datetime.now(UTC), args.others, args.seconds
    dated = {"recording_name": MINUTE}
    cases: list[tuple[str, Callable[[Path], None], dict[str, Any]]] = [
        ("the call's recording alone", lambda f: busy(f, now, 0, length), dated),
        (f"{n} older + the call's", lambda f: busy(f, now, n, length), dated),
        (f"{n} in the call's minute", lambda f: same_minute(f, now, n, length), dated),
        (f"{n} untimed + the call's last", lambda f: untimed(f, now, n, length), {})]
    print(f"{'spool':<30} {'files':>5} {'search s':>8} {'scanned':>7} {'listings':>8} "
          f"{'old top 20':>10}  verdict")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, fill, names) in enumerate(cases):
            folder = Path(tmp) / f"spool{i}"
            folder.mkdir()
            fill(folder)
            took, counted, name, how, problems = search(folder, now, Path(tmp) / f"work{i}",
                                                        args.within, **names)
            old = old_choice(counted.platform, name, now)
            files = len(list(folder.iterdir()))
            print(f"{label:<30} {files:>5} {took:>8.2f} {counted.fetched:>7} "
                  f"{counted.listings:>8} {old:>10}  found by {how}: {name}; problems {problems}")


if __name__ == "__main__":
    main()
