"""pjproject #4812 measured: how often destroying WAV players at their end kills a pjsua2 process.

    .venv/bin/python tests/benchmarks/bench_player_eof.py [--runs 12] [--cycles 1000] [--stress 2]

Each run is a fresh interpreter (``tests/pjsua2fix/player_probe.py race``) that plays a
60 ms WAV to a null sound device and destroys the player within 30 ms of its end,
``--cycles`` times; ``plain`` uses pjsua2's own ``AudioMediaPlayer``, ``patched``
``pjsua2fix.players``.  The race is with pjmedia's event thread, so it shows on a busy
host: the script runs Debian's ``stress --cpu N`` beside the runs (``--stress 0``: none)
and stops it afterwards.  It prints per mode how many runs died (and with which
signal) and the time taken.  Every run has a deadline (cycles x 0.1 s + 60 s); a run
that hangs is killed and counted as hung.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "pjsua2fix" / "player_probe.py"


def run_mode(mode: str, runs: int, cycles: int, parallel: int) -> None:
    started = time.monotonic()
    outcomes: list[str] = []
    pending = list(range(runs))
    while pending:
        batch, pending = pending[:parallel], pending[parallel:]
        procs = [subprocess.Popen([sys.executable, str(PROBE), "race", "0.06", str(cycles), mode], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in batch]
        for proc in procs:
            try:
                rc = proc.wait(timeout=cycles * 0.1 + 60)
                outcomes.append("survived" if rc == 0 else f"died rc={rc}")
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                outcomes.append("hung")
    died = [o for o in outcomes if o != "survived"]
    print(f"{mode:8s} {len(died)} of {runs} runs died ({', '.join(sorted(set(died))) or 'none'}); "
          f"{cycles} players each, {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=6, help="runs at once")
    ap.add_argument("--stress", type=int, default=2, help="stress --cpu N beside the runs (0: none)")
    ap.add_argument("--modes", nargs="+", default=["plain", "patched"], choices=["plain", "patched"])
    args = ap.parse_args()
    stress = None
    if args.stress:
        if not shutil.which("stress"):
            print("stress is not installed (apt-get install -y stress), or pass --stress 0", file=sys.stderr)
            return 2
        limit = len(args.modes) * (args.runs * (args.cycles * 0.1 + 60)) + 60
        stress = subprocess.Popen(["stress", "--cpu", str(args.stress), "--timeout", str(int(limit))],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for mode in args.modes:
            run_mode(mode, args.runs, args.cycles, args.parallel)
    finally:
        if stress is not None:
            stress.terminate()
            stress.wait(timeout=10)
            subprocess.run(["pkill", "-f", f"stress --cpu {args.stress}"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
