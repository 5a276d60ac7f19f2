"""A stand-in for ``python -m harness.cli run|discover`` that ``ccharness watch`` starts each round.

It takes the next line of the plan file (``$FAKE_PLAN``) and acts it out:
``P``/``F``/``E`` write a run folder whose greeting scenario passed, failed or erred; ``crash``
exits 3 without one; ``hang`` sleeps until signalled (and notes the signal in
``$FAKE_PLAN.signals``); ``drift``, ``drift2`` (one more), ``partial`` (a part not explored) and
``same`` answer a ``discover --compare``.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.history.runs import GREETING, scenario, write_run


def main(argv: list[str]) -> int:
    plan = Path(__import__("os").environ["FAKE_PLAN"])
    lines = plan.read_text().splitlines()
    step, rest = lines[0], lines[1:]
    plan.write_text("".join(x + "\n" for x in rest))
    with open(str(plan) + ".argv", "a") as log:
        log.write(" ".join(argv) + "\n")
    if step == "crash":
        print("Traceback (most recent call last):\nSpecError: profile.yaml:3: platform.port: not a port")
        return 3
    if step == "hang":
        def noted(signum: int, frame: object) -> None:
            Path(str(plan) + ".signals").write_text(signal.Signals(signum).name)
            sys.exit(130)
        signal.signal(signal.SIGINT, noted)
        print("hanging", flush=True)
        time.sleep(120)
        return 0
    if step in ("drift", "drift2", "partial", "same"):
        if step.startswith("drift"):
            print("DRIFT menu main: key 1 now leads to a queue sales, not the menu service")
            if step == "drift2":
                print("DRIFT menu main: key 9 is gone")
            return 1
        if step == "partial":
            print("discovered 1 menu(s)\n  not explored: 3 then 1: no answer within 10s")
            return 1
        print("no drift")
        return 0
    reports = Path(argv[argv.index("--reports") + 1])
    run_id = argv[argv.index("--run-id") + 1]
    word = {"P": "passed", "F": "not_conformant", "E": "error"}[step]
    now = datetime.now(UTC)
    write_run(reports, run_id, now, [scenario(GREETING, word, now)], target="staging")
    print(f"verdict: {word}")
    return 0 if step == "P" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
