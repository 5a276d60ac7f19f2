"""``ccharness load``: put a load profile's traffic on a platform with Locust.

This command only checks the inputs, starts what the target profile says the
harness manages (the reference platform), and starts Locust processes with the
harness's locustfile: Locust coordinates the run (master and workers, its web UI,
CSV and HTML report); there is no coordinator of ours. Locally:

* ``--workers 0`` (the default): one Locust process is the whole run;
* ``--workers N``: a master here and N worker processes on this host;
* ``--master`` / ``--worker --master-host H``: one side of a run across hosts,
  exactly as Locust's own ``--master``/``--worker`` (every host needs this
  checkout, the target profile and the target's secrets in its environment).

The run ends by itself: after the profile's ``duration`` the callers stop
starting calls, calls up then finish (up to the longest flow's deadline), and
every process has a deadline; the exit status is the thresholds' (0 met, 1 missed,
2 bad input or a run that could not finish).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from harness.errors import HarnessError, SpecError

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MARGIN = 60.0  # seconds past duration and the longest flow for Locust to stop and write its files
MASTER_PORT = 5557
WORKER_GRACE = 15.0  # seconds local workers may take to quit by themselves after their master
# (they close their phones then: hang up, unregister, stop)


def add_arguments(p: argparse.ArgumentParser, default_target: str) -> None:
    p.add_argument("profile", help="the load profile (scenarios/load/*.load.yaml)")
    p.add_argument("--target", default=None, help=f"target profile (default the load profile's target:, "
                   f"else {default_target})")
    p.add_argument("--workers", type=int, default=0, help="local Locust workers (0: one process runs it all)")
    p.add_argument("--headless", action="store_true", help="no web UI: start at once, print progress")
    side = p.add_mutually_exclusive_group()
    side.add_argument("--master", action="store_true", help="be the master of a run across hosts "
                      "(waits for --workers N workers)")
    side.add_argument("--worker", action="store_true", help="be a worker of the master at --master-host")
    p.add_argument("--master-host", default="127.0.0.1", help="the master's address (with --worker)")
    p.add_argument("--master-port", type=int, default=MASTER_PORT, help="the master's port")
    p.add_argument("--web-host", default="127.0.0.1", help="where the web UI listens (without --headless)")
    p.add_argument("--out", default=None, help="the run's folder (default reports/load-<time>)")
    p.add_argument("--seed", type=int, default=0, help="fix the flows and samples drawn (0: random)")


def main(args: argparse.Namespace, default_target: Path, reports: Path) -> int:
    from harness.load.profile import default_target as profile_target
    from harness.load.profile import load_profile
    from harness.runner.platform import REFERENCE_STATE, ReferenceSize, managed_platform, reference
    from harness.targets.profile import load_prompt_library, load_target

    path = Path(args.profile).resolve()
    target_path = Path(args.target).resolve() if args.target else (profile_target(path) or default_target)
    try:
        target = load_target(target_path)
        prompts = load_prompt_library(target.prompts) if target.prompts else None
        profile = load_profile(path, target, prompts)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.workers < 0 or (args.master and args.workers < 1):
        print("ccharness load: --master needs --workers N (N >= 1), the workers to wait for", file=sys.stderr)
        return 2
    out = Path(args.out).resolve() if args.out else reports / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    longest = max(f.scenario.deadline for f in profile.flows)
    deadline = profile.duration + longest + MARGIN
    print(f"ccharness load: {profile.name} against {target.name}: {profile.callers} callers, "
          f"{profile.duration:g}s, {len(profile.flows)} flows, {args.workers or 'no'} workers -> {out}",
          flush=True)
    with ExitStack() as stack:
        try:
            if not args.worker:
                agents = tuple(a.username for a in profile.agents.accounts) if profile.agents else ()
                size = ReferenceSize(profile.callers, agents)
                stack.enter_context(managed_platform(target, prompts, out / "platform", size=size))
                if target.managed == "reference":  # sized for this load, or the user's own as it runs
                    print(f"ccharness load: {reference('status', REFERENCE_STATE).stdout.strip()}", flush=True)
        except HarnessError as exc:
            print(f"ccharness load: {exc}", file=sys.stderr)
            return 2
        common = ["--cc-load", str(path), "--cc-target", str(target.path), "--cc-out", str(out)]
        if args.worker:
            return _wait([_worker(common, args)], deadline, out)
        procs = [_master(common, args, profile.callers, profile.spawn_rate, profile.duration, longest, out)]
        if not args.master:
            procs += [_worker(common, args) for _ in range(args.workers)]
        code = _wait(procs, deadline, out)
    for name in ("load-report.html", "summary.json", "locust_stats.csv", "locust_failures.csv", "locust.html"):
        if (out / name).exists():
            print(f"  {name}: {out / name}")
    return code


def _locust(extra: list[str], log: Path | None) -> subprocess.Popen[bytes]:
    """A fresh interpreter running Locust with the harness's locustfile (never a fork of a
    gevent-patched process); its output to ``log``, or to the terminal."""
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "WARNING", *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if log is None:  # the master's (or the only process's) output is the run's terminal output
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env)
    with log.open("ab") as sink:  # the child holds its own copy of the descriptor
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env)


def _master(common: list[str], args: argparse.Namespace, callers: int, rate: float, duration: float,
            longest: float, out: Path) -> subprocess.Popen[bytes]:
    side = ["--master", "--expect-workers", str(args.workers), "--expect-workers-max-wait", "120",
            "--master-bind-port", str(args.master_port),
            "--master-bind-host", "*" if args.master else "127.0.0.1"] if args.workers else []
    ui = (["--headless", "--cc-duration", str(duration)] if args.headless else
          ["--web-host", args.web_host, "--autostart", "--autoquit", "10", "--run-time", f"{round(duration)}s"])
    return _locust([*side, *ui, "--users", str(callers), "--spawn-rate", str(rate),
                    "--stop-timeout", str(round(longest)),
                    "--csv", str(out / "locust"), "--csv-full-history", "--html", str(out / "locust.html"),
                    "--only-summary", "--cc-workers", str(max(1, args.workers)),
                    "--cc-seed", str(args.seed), *common], None)


def _worker(common: list[str], args: argparse.Namespace) -> subprocess.Popen[bytes]:
    out = Path(common[common.index("--cc-out") + 1])
    return _locust(["--worker", "--master-host", args.master_host, "--master-port", str(args.master_port),
                    *common], out / f"locust-worker-{time.monotonic_ns()}.log")


def _wait(procs: list[subprocess.Popen[bytes]], deadline: float, out: Path) -> int:
    """Wait for the first process (the master, or the only one) within ``deadline`` seconds, then
    briefly for the others; the first one's status is the run's."""
    until = time.monotonic() + deadline
    try:
        procs[0].wait(max(0.1, until - time.monotonic()))
    except subprocess.TimeoutExpired:
        print(f"ccharness load: the run did not end within {deadline:.0f}s; stopping it "
              f"(logs in {out})", file=sys.stderr)
        _stop(procs)
        return 2
    except KeyboardInterrupt:
        _stop(procs)
        raise
    # The master has every worker's last report (each sent it when its callers stopped, and closed
    # its phones); a local worker still sleeping out Locust's stop_timeout before it reads "quit"
    # is stopped now rather than waited for.
    end = time.monotonic() + WORKER_GRACE
    for p in procs[1:]:
        try:
            p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    _stop(procs[1:])
    code = procs[0].returncode
    return code if code in (0, 1) else 2


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
