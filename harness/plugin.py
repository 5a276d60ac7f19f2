"""pytest plugin: every ``*.scenario.yaml`` file is one test item.

Options and set-up only; the engine is imported lazily.  A bad scenario is a
collection error that lists all of its problems.  A failed expectation is a
*fail* (the platform does not conform); any other harness error is an
*error* (the run could not decide) and says so.  A scenario that could not
decide only because this host was busy (``HostBusy``) is run again, from the
start, at most ``--cc-busy-retries`` times; a fail is never run again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ExpectationFailed, HarnessError, HostBusy, SpecError
from harness.project import PROJECT_ROOT

SUFFIX = ".scenario.yaml"
DEFAULT_TARGET = "fixtures/targets/reference.yaml"
BUSY_RETRIES = 2
"""How many times a scenario that could not decide because this host was busy is run again."""
_SESSION = pytest.StashKey["CcSession"]()
_REHEARSAL = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ccharness", "call-centre conformance harness")
    group.addoption("--cc-target", default=os.environ.get("CC_TARGET", DEFAULT_TARGET),
                    help=f"target profile (YAML) to run scenarios against (default {DEFAULT_TARGET})")
    group.addoption("--cc-reports", default="reports", help="folder that holds one folder per run")
    group.addoption("--cc-run-id", default=None, help="name of this run's folder (default: UTC time)")
    group.addoption("--cc-reference-fault", action="append", default=[], metavar="NAME",
                    help="run against the reference platform with this fault on (repeatable): "
                         "to see a check fail as it should")
    group.addoption("--cc-rehearse", default=None, type=_rehearse_mode, metavar="enter|SECONDS",
                    help="rehearse the on-site inspection: announce each step, then wait for Enter "
                         "(enter) or that many seconds; needs -s")
    group.addoption("--cc-busy-retries", type=int, default=BUSY_RETRIES, metavar="N",
                    help="run a scenario again, at most N times, when it could not decide because this "
                         f"host was too busy (a fail is never run again; default {BUSY_RETRIES})")


def _rehearse_mode(text: str) -> str:
    if text != "enter" and not 0 <= float(text) < float("inf"):  # float() raises ValueError for words
        raise ValueError(text)
    return text


def _rehearsal(config: pytest.Config) -> Any:
    """The session's rehearsal observer (``--cc-rehearse``), or None for a normal run."""
    mode = config.getoption("--cc-rehearse")
    if mode is None:
        return None
    if _REHEARSAL not in config.stash:
        from harness.report.rehearsal import Rehearsal

        rehearsal = Rehearsal(None if mode == "enter" else float(mode))
        config.add_cleanup(rehearsal.close)
        config.stash[_REHEARSAL] = rehearsal
    return config.stash[_REHEARSAL]


def resolve(path: str) -> Path:
    """A path as given, or else relative to the project root (for the bundled profiles)."""
    p = Path(path)
    return p if p.exists() or p.is_absolute() else PROJECT_ROOT / p


class CcSession:
    """What all scenario items of one pytest session share: target, prompts, run folder, platform."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.target_path = resolve(config.getoption("--cc-target"))
        # Under pytest-xdist the controller names the run and runs the platform for every worker.
        given: dict[str, Any] = getattr(config, "workerinput", {})
        self.worker = hasattr(config, "workerinput")
        run_id = (given.get("cc_run_id") or config.getoption("--cc-run-id")
                  or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        self.run_id = str(run_id)
        self.run_dir = Path(config.getoption("--cc-reports")).resolve() / run_id
        self.shared_platform: bool = bool(given.get("cc_platform_shared"))
        self.platform_error: str | None = given.get("cc_platform_error")
        self._target: Any = None
        self._platform: Any = None
        self._evidence: Any = None

    def evidence(self) -> Any:
        """The run's evidence log; its first use writes the run record."""
        if self._evidence is None:
            from harness.evidence.records import EvidenceLog, target_secrets

            target, _ = self.target()
            self._evidence = EvidenceLog(self.run_dir, target_secrets(target))
            if self.worker:
                self._evidence.join_run()
                return self._evidence
            faults = tuple(self.config.getoption("--cc-reference-fault"))
            self._evidence.run_started(self.run_dir.name, target, faults, list(self.config.invocation_params.args))
            if target.transport == "tls" and not target.tls.verify:
                self._warn_unverified(target)
        return self._evidence

    def _warn_unverified(self, target: Any) -> None:
        """Once per run (the run record says it too): nobody checks whose certificate it is."""
        from harness.sip.tls import unverified_warning

        message = unverified_warning(f"{target.host}:{target.port} ({target.path})")
        logging.getLogger("ccharness").warning(message)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None:
            print(message, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():  # a scenario is running: its output is captured
            reporter.write_line("")
            reporter.write_line(message, red=True, bold=True)

    def target(self) -> Any:
        if self._target is None:
            from harness.targets.profile import load_prompt_library, load_target

            target = load_target(self.target_path)
            prompts = load_prompt_library(target.prompts) if target.prompts else None
            self._target = (target, prompts)
        return self._target

    def ensure_platform(self) -> None:
        if self.shared_platform:  # the xdist controller runs it for all workers
            if self.platform_error:
                raise HarnessError(self.platform_error)
            return
        if self._platform is None:
            from harness.runner.platform import managed_platform

            target, prompts = self.target()
            faults = tuple(self.config.getoption("--cc-reference-fault"))
            platform = managed_platform(target, prompts, self.run_dir / "platform", faults)
            platform.__enter__()  # raises for every item alike until the platform is up
            self._platform = platform

    def start_for_workers(self) -> None:
        """The xdist controller: write the run record and start the platform before any worker runs."""
        try:
            self.evidence()
            self.ensure_platform()
        except HarnessError as exc:
            self.platform_error = f"{type(exc).__name__}: {exc}"
        self.shared_platform = True

    def close(self) -> None:
        try:
            if self._evidence is not None:
                if not self.worker:  # a worker's end is not the run's
                    self._evidence.run_ended(int(getattr(self.config, "_cc_exitstatus", 0)))
                    _file_run(self.run_dir)
                self._evidence = None
        finally:
            if self._platform is not None:  # a managed platform is stopped whatever happened above
                self._platform.__exit__(None, None, None)
                self._platform = None


def _file_run(run_dir: Path) -> None:
    """File the ended run in the ledger's run book, for ``ccharness history`` and ``watch``; a
    ledger that cannot be written costs the history this run, not the run."""
    from harness.evidence.runbook import RunBook

    try:
        RunBook.of_reports(run_dir.parent).file_folder(run_dir)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the run's verdict stands
        print(f"ccharness: run {run_dir.name} not filed in the history: {exc}", file=sys.stderr)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = CcSession(config)
    config.addinivalue_line("markers", "licence_item(name): the licence item a scenario covers")
    if _distributing(config):
        if config.getoption("--cc-rehearse") is not None:
            raise pytest.UsageError("--cc-rehearse presents one scenario at a time: run it without -n")
        # Scenarios that use agents or queues share the platform's agents, queues and clock, so
        # they run one after another on one worker (loadgroup); IVR-only scenarios spread out.
        if config.getoption("dist") in ("load", "no"):
            config.option.dist = "loadgroup"
        config.pluginmanager.register(_Controller(config.stash[_SESSION]), "ccharness-xdist-controller")
    elif getattr(config, "workerinput", {}).get("cc_loadgroup"):
        # A worker rebuilds its options from the command line, which may not say --dist loadgroup;
        # without this it would not tag the grouped items and the controller would spread them.
        config.option.loadgroup = True


def _distributing(config: pytest.Config) -> bool:
    """True in the pytest-xdist controller of a scenario run with workers."""
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return False
    return bool(config.getoption("numprocesses", None)) and _runs_scenarios(config)


def _runs_scenarios(config: pytest.Config) -> bool:
    """Whether the session was given scenarios: a ``*.scenario.yaml`` or a folder holding one.

    The harness's own test suite (``tests/``, whose data folders hold scenario files it never
    collects) is not a scenario run: under ``-n`` its tests must spread over the workers as
    usual, with no run folder and no platform started for them."""
    tests = PROJECT_ROOT / "tests"
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve()
        if path.name.endswith(SUFFIX):
            return True
        if path.is_dir() and not path.is_relative_to(tests) and next(path.rglob(f"*{SUFFIX}"), None):
            return True
    return False


PLATFORM_GROUP = "platform-agents"
# Licence items whose scenarios leave the platform's agents and clock alone, so they may run beside
# the others under -n: an IVR call, and a security one (a refused REGISTER or call changes no binding;
# a security scenario with agents of its own is grouped for them like any other).
ALONE_ITEMS = (None, "ivr", "security")


@functools.cache
def _shares_platform(path: Path) -> bool:
    """A scenario with agents, or about ACD, recording or retention, shares the platform's agents
    and clock with its kind (the same rule as the xdist_group mark given at collection)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # undecided: the safe side is one after another
    if not isinstance(data, dict):
        return True
    return bool(data.get("agents")) or data.get("licence_item") not in ALONE_ITEMS


class _Controller:
    """xdist's side of the session: one run folder, one platform, one run record for all workers."""

    def __init__(self, session: CcSession) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session.start_for_workers()

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """xdist's loadgroup, grouped by what each scenario file says: pytest 9 names items by a
        node id xdist 3.8 cannot suffix with the group (it sets a ``_nodeid`` pytest no longer
        reads), so the xdist_group marks alone would leave the scenarios spread out."""
        if config.getoption("dist") != "loadgroup":
            return None
        from xdist.scheduler.loadgroup import LoadGroupScheduling

        root = config.rootpath

        class ByPlatformUse(LoadGroupScheduling):  # type: ignore[misc]
            def _split_scope(self, nodeid: str) -> str:
                return PLATFORM_GROUP if _shares_platform(root / nodeid.split("::", 1)[0]) else nodeid

        return ByPlatformUse(config, log)

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["cc_run_id"] = self.session.run_id
        node.workerinput["cc_platform_shared"] = True
        node.workerinput["cc_platform_error"] = self.session.platform_error
        node.workerinput["cc_loadgroup"] = node.config.getoption("dist") == "loadgroup"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._cc_exitstatus = int(exitstatus)  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.steps.registry import load_scenario

        target, prompts = self.config.stash[_SESSION].target()
        scenario = load_scenario(self.path, prompts, target)
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        if scenario.licence_item:
            item.add_marker(pytest.mark.licence_item(scenario.licence_item))
        if scenario.agents or scenario.licence_item not in ALONE_ITEMS:
            item.add_marker(pytest.mark.xdist_group(PLATFORM_GROUP))  # serial under -n (see above)
        for tag in scenario.tags:
            self.config.addinivalue_line("markers", f"{tag}: scenario tag")
            item.add_marker(tag)
        yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SpecError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        session: CcSession = self.config.stash[_SESSION]
        work = session.run_dir / self.path.name.removesuffix(SUFFIX)
        retries = max(0, int(self.config.getoption("--cc-busy-retries")))
        earlier: list[str] = []
        for attempt in range(1, retries + 2):
            try:
                self._attempt(session, work, tuple(earlier), last=attempt > retries)
                return
            except HostBusy as exc:
                if attempt > retries:
                    raise
                kept = work.with_name(f"{work.name}.attempt-{attempt}")
                shutil.rmtree(kept, ignore_errors=True)
                if work.exists():
                    work.rename(kept)  # this attempt's traces and audio stay, beside the next one's
                earlier.append(f"{kept.name}/: {exc}")
                session.evidence().append({"type": "scenario_retried", "file": str(self.scenario.path),
                                           "name": self.scenario.name, "attempt": attempt,
                                           "folder": kept.name, "message": str(exc)})

    def _attempt(self, session: CcSession, work: Path, earlier: tuple[str, ...], last: bool) -> None:
        """Run the scenario once; record its result unless it is to be run again (HostBusy, not ``last``)."""
        from harness.report.allure import attach_run, step_context
        from harness.runner.result import result_of
        from harness.runner.run import ScenarioRun
        from harness.steps.registry import BY_MODEL

        evidence = session.evidence()
        started = time.time()
        target, prompts = session.target()
        if self.scenario.prompts is not None:
            from harness.targets.profile import load_prompt_library

            prompts = load_prompt_library(self.scenario.prompts)
        run = ScenarioRun(self.scenario, target, prompts, work, on_step=step_context, kinds=BY_MODEL)
        rehearsal = _rehearsal(self.config)
        if rehearsal is not None:
            run.observe(rehearsal.watch(run))
        error: BaseException | None = None
        evidence.scenario_started(str(self.scenario.path), self.scenario.name)
        try:
            session.ensure_platform()
            run.execute()
        except BaseException as exc:
            error = exc
            raise
        finally:
            run.close()
            run.write_traces()
            if last or not isinstance(error, HostBusy):
                result = dataclasses.replace(result_of(run, started, error, work, evidence.t0), attempts=earlier)
                attach_run(result)
                evidence.scenario_ended(result)
                self.user_properties.extend(result.properties())  # JUnit readers see the same verdict

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        exc = excinfo.value
        if isinstance(exc, ExpectationFailed):
            return f"NOT CONFORMANT: {exc.step}: {exc.detail}"
        if isinstance(exc, HarnessError):
            return f"ERROR (the run could not decide): {type(exc).__name__}: {exc}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.name}"
