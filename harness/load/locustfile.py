"""The Locust side of ``ccharness load``: this file is what Locust runs (``locust -f``).

Each Locust worker process (or the one local process) is a controller: when
the test starts, before its callers, it builds its :class:`Controller` -- the
target, the load profile, its share of the agents (registered) and a pool of
phones -- and every caller then places one flow after another through it. Each call's stages are
fired as Locust request events (``harness/load/call.py``), so Locust's
statistics, web UI, CSV files and master/worker merging work as users know
them; each worker also writes its own calls, one JSON line each, to
``calls-w<index>.jsonl`` in the run's folder. The master (or the local
process) prints a progress line every few seconds and, when Locust quits,
judges the thresholds on the merged statistics, writes ``summary.json`` and
sets the exit status.

Phones are fresh interpreters started with ``subprocess`` (never forked from
this gevent-patched process): ``harness.sip.controller``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import gevent
import locust.runners
from locust import User, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.rpc import Message as _Message
from locust.runners import MasterRunner, WorkerRunner

from harness.load.call import CallOutcome, place
from harness.load.pool import Pool
from harness.load.profile import LoadProfile, load_profile
from harness.load.summary import progress_line, summarise
from harness.sip.controller import first_rtp_slot
from harness.targets.model import PromptLibrary, Target
from harness.targets.profile import load_prompt_library, load_target

PROGRESS_EVERY = 5.0
QUALITY_MESSAGE = "ccharness_quality"
QUALITY: list[dict[str, Any]] = []  # every call's expect_quality figures (on the master, or the one process)
MIN_CALL_GAP = 1.0  # seconds between the starts of one caller's calls, at least
HEARTBEAT_LIVENESS = 30
"""Heartbeats (1 s apart) a worker may miss before the master calls it missing. Locust's 3 is
too few on a busy host: a worker starting its phones can leave the gevent hub without a turn for
seconds, and the master, counting it missing, hands its callers to the other workers (seen under
``stress --cpu 2``: one worker placed every call). A worker silent for 30 s is missing."""
locust.runners.HEARTBEAT_LIVENESS = HEARTBEAT_LIVENESS  # read by the master at each heartbeat
AGENT_SETTLE = 2.0  # seconds between this worker's agents registering and its first call


def _arguments(parser: Any) -> None:
    parser.add_argument("--cc-load", default="", help="the load profile (ccharness load)", include_in_web_ui=False)
    parser.add_argument("--cc-target", default="", help="the target profile", include_in_web_ui=False)
    parser.add_argument("--cc-out", default="", help="the run's folder", include_in_web_ui=False)
    parser.add_argument("--cc-workers", type=int, default=1, help="how many workers share the agents",
                        include_in_web_ui=False)
    parser.add_argument("--cc-seed", type=int, default=0, help="0: a random run", include_in_web_ui=False)
    parser.add_argument("--cc-duration", type=float, default=0.0, include_in_web_ui=False,
                        help="headless: stop starting calls after this many seconds, let the calls up "
                        "finish (up to --stop-timeout), then quit")


def options(env: Environment) -> Any:
    """Locust's parsed command line, with ours (``--cc-*``; a worker gets the master's)."""
    assert env.parsed_options is not None
    return env.parsed_options


class CallFailed(Exception):
    """A stage of a call failed; Locust counts failures by this text (numbers blanked)."""


def cause(text: str) -> str:
    """A failure's cause as Locust groups it: digits blanked, first 160 characters."""
    return "".join("#" if c.isdigit() else c for c in text.splitlines()[0])[:160]


class Controller:
    """One worker's part of the run: the profile, the target, a pool of phones, the call log."""

    def __init__(self, env: Environment) -> None:
        opts = options(env)
        runner = env.runner
        self.index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        workers = max(1, int(opts.cc_workers))
        first_rtp_slot(self.index * 50 // workers)  # the workers on one host share the RTP band
        self.target: Target = load_target(Path(opts.cc_target))
        self.prompts: PromptLibrary | None = (load_prompt_library(self.target.prompts)
                                              if self.target.prompts else None)
        self.profile: LoadProfile = load_profile(Path(opts.cc_load), self.target, self.prompts)
        self.out = Path(opts.cc_out)
        self.work = self.out / f"worker-{self.index}"
        seed = int(opts.cc_seed) or random.SystemRandom().randrange(1, 2**31)
        self.rng = random.Random(seed * 1000 + self.index)
        agents = self.profile.agents
        mine = list(agents.accounts[self.index::workers]) if agents is not None else []
        self.pool = Pool(self.target, self.work, agents, mine, seed=self.rng.randrange(2**31))
        self._log = (self.out / f"calls-w{self.index}.jsonl").open("a", encoding="utf-8")
        self._log_lock = threading.Lock()
        self.closed = False

    def one_call(self, env: Environment) -> CallOutcome:
        flows = self.profile.flows
        flow = self.rng.choices(flows, weights=[f.weight for f in flows])[0].scenario
        sampled = self.rng.random() < self.profile.sample
        outcome = place(self.pool, flow, self.target, self.prompts, self.work, sampled)
        for stage in outcome.stages:
            request: Any = env.events.request
            request.fire(
                request_type=stage.kind, name=stage.name, response_time=stage.ms, response_length=0,
                exception=CallFailed(cause(stage.error)) if stage.error else None, context={})
        with self._log_lock:
            self._log.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
            self._log.flush()
        if outcome.quality is not None:  # not in Locust's statistics: to the master as a message
            runner: Any = env.runner
            if isinstance(runner, WorkerRunner):
                runner.send_message(QUALITY_MESSAGE, outcome.quality)
            else:
                QUALITY.append(outcome.quality)
        return outcome

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool.close()
            self._log.close()


_controller: Controller | None = None


class Caller(User):
    """A simulated caller: one flow after another, paced by the profile's ``rate``."""

    def on_start(self) -> None:
        self.last_start = 0.0
        if _controller is None:  # it could not be built (test_start said why)
            raise StopUser()
        self.cc = _controller

    def wait_time(self) -> float:
        """The profile's pacing, and never two calls of one caller within MIN_CALL_GAP: a platform
        that refuses at once (503) would otherwise be redialled in a tight loop, as no caller does."""
        pacing = self.cc.profile.pacing if hasattr(self, "cc") else None
        gap = max(MIN_CALL_GAP, pacing or 0.0)
        return max(0.0, gap - (time.monotonic() - self.last_start))

    @task
    def call(self) -> None:
        self.last_start = time.monotonic()
        self.cc.one_call(self.environment)


def _stopped(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        # Report the last calls now: a worker tells the master it stopped right after this, and
        # the master forgets it then, with whatever its 3-second stats report had not yet sent.
        # (Locust sends such a final report on quit, not on stop; the private call is its own.)
        runner: Any = environment.runner
        runner._send_stats()
        # Its agents stay up until the master says quit: another worker's last calls may still be
        # queued for them (closing here failed those calls: "the call ended before an agent
        # answered", one in a few hundred with two workers, bench_load_rate.py).
        return
    if _controller is not None and not isinstance(environment.runner, MasterRunner):
        _controller.close()


def _quitting(environment: Environment, **_: Any) -> None:
    if _controller is not None:
        _controller.close()
    if isinstance(environment.runner, WorkerRunner):
        return
    opts = options(environment)
    passed = summarise(environment, Path(opts.cc_load), Path(opts.cc_target), Path(opts.cc_out), QUALITY)
    if environment.process_exit_code != 2:  # a process that could not run calls said so already
        environment.process_exit_code = 0 if passed else 1


def _build(environment: Environment) -> None:
    """This process's controller, before its callers start: its agents registered, then
    AGENT_SETTLE for the other workers' agents to register too (they start at the same moment)."""
    global _controller
    try:
        _controller = Controller(environment)
    except Exception as exc:  # noqa: BLE001 -- any: this process cannot run calls, and must say why
        print(f"ccharness load: this Locust process cannot run calls: {type(exc).__name__}: {exc}",
              flush=True)
        environment.process_exit_code = 2
        runner: Any = environment.runner
        runner.quit()
        return
    if _controller.pool.agents:
        gevent.sleep(AGENT_SETTLE)


def _started(environment: Environment, **_: Any) -> None:
    if not isinstance(environment.runner, MasterRunner) and (_controller is None or _controller.closed):
        _build(environment)  # a test started again from the web UI gets fresh phones
    if isinstance(environment.runner, WorkerRunner):
        return
    if isinstance(environment.runner, MasterRunner) and QUALITY_MESSAGE not in environment.runner.custom_messages:
        master: Any = environment.runner
        master.register_message(QUALITY_MESSAGE, lambda msg, **_: QUALITY.append(dict(msg.data)))
    began = time.monotonic()

    def report() -> None:
        while True:
            gevent.sleep(PROGRESS_EVERY)
            print(progress_line(environment, time.monotonic() - began), flush=True)

    def end() -> None:
        """Stop, which waits for every worker's callers to finish their calls and report them, then
        quit. (Locust's own --run-time quits at once in a headless distributed run: a master then
        misses the calls its workers finish while they stop.)"""
        gevent.sleep(options(environment).cc_duration)
        print(f"ccharness load: {options(environment).cc_duration:g}s are up: no new calls; "
              "waiting for the calls up to end", flush=True)
        runner: Any = environment.runner
        workers = [c.id for c in runner.clients.all] if isinstance(runner, MasterRunner) else []
        runner.stop()
        # A worker that reported it stopped is no longer among the master's clients, so quit()
        # would not tell it to quit and it would wait for the master forever: tell each one.
        for worker in workers:  # (it reads it after the stop_timeout it sleeps in its stop handler)
            runner.server.send_to_client(_message("quit", None, worker))
        runner.quit()

    gevent.spawn(report)
    if options(environment).cc_duration > 0:
        gevent.spawn(end)


_events: Any = events  # Locust's event hooks are untyped
_message: Any = _Message
_events.init_command_line_parser.add_listener(_arguments)
_events.test_start.add_listener(_started)
_events.test_stop.add_listener(_stopped)
_events.quitting.add_listener(_quitting)
