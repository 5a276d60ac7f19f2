"""How many concurrent bridged, recorded calls the reference platform holds on this machine.

    .venv/bin/python tests/benchmarks/bench_platform_capacity.py [--workers 3 6 10]
        [--extra 2] [--hold 8]

For each pool size W it starts a conformant platform on loopback (its own
ports and state directory, stopped afterwards) with ``workers.count = W``
and one agent account per call, registers that many agent phones (each
answers at once and plays a 1600 Hz tone), then places 2W + extra calls at
the same moment from caller phones (account 1001, four calls per phone) to
the sales queue. Each caller plays a 1000 Hz tone two seconds after the
answer and hangs up after ``hold`` seconds. It prints, per pool size:

    attempted  calls placed at once
    answered   calls an agent answered (bridged)
    recorded   calls whose recording holds both tones and lasts the bridge (±1 s)
    failed     calls the platform refused or never bridged (with their SIP codes)

It is a script, not a test (pytest does not collect tests/benchmarks): the
figures depend on the machine. Every wait has a deadline; a run places at
most 2W + extra calls and takes well under a minute per pool size.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))

from harness.sip.controller import WaitTimeout
from tests.reference.conftest import (
    AGENT_TONE,
    CALLER_TONE,
    SALES,
    Desk,
    RefPlatform,
    Script,
    Stored,
    run_scripts,
    stored_recording,
    tone_agent,
    tone_wav,
)

CALLS_PER_PHONE = 4  # PJSUA_MAX_CALLS


@dataclass
class CallResult:
    call_id: str | None
    bridged_s: float | None  # agent answer (first agent CONFIRMED after dialling) to hang-up
    code: int  # final SIP status seen by the caller (200: the platform answered)


def one_call(desk: Desk, phone: str, hold: float) -> Script:
    """Dial sales; if the platform answers, talk for ``hold`` s (tone after 2 s) and hang up."""
    call = desk.dial(SALES, phone)
    yield desk.until_settled(call, 15.0)
    if call.state == "DISCONNECTED":
        status = call.final_status()
        return CallResult(call.sip_call_id, None, status[0] if status else 0)
    yield desk.until_time(2.0)
    desk.play(call, tone_wav(desk.work, CALLER_TONE, 1.5))
    yield desk.until_time(hold - 2.0)
    desk.drop(call)
    yield desk.until_ended(call, 10.0)
    ended = call.last("call", state="DISCONNECTED")
    answered = call.last("call", state="CONFIRMED")
    span = ended.t - answered.t if ended and answered else None
    return CallResult(call.sip_call_id, span, 200)


def recording_of(desk: Desk, result: CallResult) -> Script:
    if result.call_id is None or result.code != 200:
        return Stored([], None, None)
    stored = yield from stored_recording(desk.ref, result.call_id, timeout=15.0)
    return stored


def clean(stored: Stored, bridged_s: float | None) -> bool:
    """Both parties' tones are in the file and it lasts the bridge (within a second)."""
    if not stored.rows or stored.data is None or bridged_s is None:
        return False
    tones = all(stored.tone_seconds(f) > 1.0 for f in (CALLER_TONE, AGENT_TONE))
    return tones and abs(stored.seconds - bridged_s) <= 1.5  # bridge starts a moment after answer


def measure(workers: int, extra: int, hold: float, work: Path) -> dict[str, object]:
    attempted = 2 * workers + extra
    agents = [str(2001 + i) for i in range(max(4, attempted))]
    ref = RefPlatform(work / f"platform-{workers}", workers=workers, overrides={
        "accounts.agents": agents, "queues.sales.agents": agents})
    ref.start()
    desk = Desk(ref, work / f"phones-{workers}")
    began = time.monotonic()
    try:
        callers = -(-attempted // CALLS_PER_PHONE)
        agent = tone_agent(work / "tones")
        desk.start({a: agent for a in agents}, callers=callers)
        phones = [f"caller{i or ''}" for i in range(callers)]
        calls = run_scripts({f"call{n}": (desk, one_call(desk, phones[n % callers], hold))
                             for n in range(attempted)})
        results = [o.value if o.error is None else CallResult(None, None, -1)
                   for o in calls.values()]
        errors = [str(o.error) for o in calls.values() if o.error is not None]
        stored = run_scripts({f"rec{n}": (desk, recording_of(desk, r))
                              for n, r in enumerate(results)})
        bridged = sum(1 for a in agents for leg in desk.offers(a)
                      if leg.last("call", state="CONFIRMED"))
        recorded = sum(1 for r, s in zip(results, stored.values())
                       if s.error is None and clean(s.value, r.bridged_s))
        codes = collections.Counter(r.code for r in results if r.code != 200)
        failed = attempted - bridged
        return {"workers": workers, "attempted": attempted, "answered": bridged,
                "recorded": recorded, "failed": failed,
                "codes": ", ".join(f"{c}x{n}" for c, n in sorted(codes.items())) or "-",
                "errors": errors[:3], "seconds": time.monotonic() - began}
    finally:
        desk.close()
        ref.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[3, 6, 10])
    parser.add_argument("--extra", type=int, default=2, help="calls beyond 2 per worker")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds each call lasts")
    args = parser.parse_args(argv)
    if not all(1 <= w <= 20 for w in args.workers) or not 0 <= args.extra <= 8:
        parser.error("1..20 workers and 0..8 extra calls keep the run bounded")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ccref-capacity-") as tmp:
        for workers in args.workers:
            try:
                rows.append(measure(workers, args.extra, args.hold, Path(tmp)))
            except (WaitTimeout, RuntimeError) as exc:
                print(f"{workers} workers: could not measure: {exc}", file=sys.stderr)
                continue
            print(f"  {workers} workers done in {rows[-1]['seconds']:.0f}s", file=sys.stderr)
    header = f"{'workers':>7} {'attempted':>9} {'answered':>8} {'recorded':>8} {'failed':>6}  codes"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['workers']:>7} {r['attempted']:>9} {r['answered']:>8} {r['recorded']:>8} "
              f"{r['failed']:>6}  {r['codes']}")
        for error in r["errors"]:  # type: ignore[attr-defined]
            print(f"        error: {error.splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
