"""What every test folder shares: the test tiers.

Every test belongs to one tier, from its markers:

* ``unit`` -- pure and in-memory (local HTTP/TCP fakes included): no SIP call; seconds.
* ``loopback`` -- real SIP calls on loopback between the harness's phones and peers
  (marked ``sip``).
* ``platform`` -- the bundled reference platform (or its Kamailio) and its faults
  (marked ``platform`` or ``kamailio``): the slow tier, most of the run's time.
* ``integration`` -- a real PBX built from source (marked ``integration``,
  ``tests/integration/``): opt-in, skipped unless ``--asterisk=PREFIX`` (or the
  environment's ``CCHARNESS_ASTERISK``) names an installed Asterisk.

A platform test marked ``crawl`` (a whole ``ccharness discover`` crawl and its generated
suite: minutes) is opt-in too, run with ``--crawl`` (or ``CCHARNESS_CRAWL=1``), so the
CI run stays within its half hour; its parts are unit-tested in every run.

``pytest`` runs the tiers in that order, and once a tier has a failure the later
tiers are skipped (``--all-tiers`` runs them all the same), so a broken build
fails in about a minute instead of after the slow tiers.  ``-m unit``,
``-m loopback``, ``-m platform`` and ``-m integration`` select a tier.

Under pytest-xdist (``-n 3``, as the README runs them) the workers take the tests
in the same order, and a failure on any worker skips the later tiers on all of
them: the controller, which sees every report, writes the failed tier to a file
each worker reads before a test starts.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TIERS = ("unit", "loopback", "platform", "integration")
_FLAG = "ccharness_failed_tier"  # the workerinput key: the file that names the failed tier


def tier_of(item: pytest.Item) -> str:
    """``integration`` for a real PBX, ``platform`` if it starts the reference platform or
    Kamailio, ``loopback`` for SIP calls."""
    if item.get_closest_marker("integration"):
        return "integration"
    if item.get_closest_marker("platform") or item.get_closest_marker("kamailio"):
        return "platform"
    if item.get_closest_marker("sip"):
        return "loopback"
    return "unit"


class Tiers:
    """Orders the tests by tier and skips the tiers after one that failed."""

    def __init__(self, all_tiers: bool, flag: Path, asterisk: str | None = None, crawl: bool = False) -> None:
        self.all_tiers = all_tiers
        self.asterisk = asterisk  # the installed Asterisk the integration tier runs (None: skipped)
        self.crawl = crawl  # run the tests marked crawl
        self.flag = flag  # shared by the xdist controller (writes) and its workers (read)
        self.tier: dict[str, str] = {}  # test id -> tier
        self._failed: str | None = None  # the first tier with a failure seen here

    @property
    def failed(self) -> str | None:
        if self._failed is None and self.flag.is_file():
            self._failed = self.flag.read_text(encoding="utf-8").strip() or None
        return self._failed

    @pytest.hookimpl(tryfirst=True)  # the tier markers must be there before -m deselects by them
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            tier = self.tier[item.nodeid] = tier_of(item)
            if not item.get_closest_marker(tier):
                item.add_marker(tier)
            if tier == "integration" and not self.asterisk:
                item.add_marker(pytest.mark.skip(reason=INTEGRATION_OFF))
            if item.get_closest_marker("crawl") and not self.crawl:
                item.add_marker(pytest.mark.skip(reason=CRAWL_OFF))
        items.sort(key=lambda item: TIERS.index(self.tier[item.nodeid]))  # stable within a tier

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        failed = self.failed
        tier = self.tier.get(item.nodeid, "unit")
        if failed and TIERS.index(tier) > TIERS.index(failed) and not self.all_tiers:
            pytest.skip(f"the {failed} tier failed: fix it first (or run with --all-tiers)")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        # The xdist controller has collected nothing: it takes the tier from the test's markers.
        tier = self.tier.get(report.nodeid) or _tier_of_keywords(report.keywords)
        failed = self.failed
        if failed is None or TIERS.index(tier) < TIERS.index(failed):
            self._failed = tier
            self.flag.write_text(tier, encoding="utf-8")

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist's controller, before it starts a worker
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_FLAG] = str(self.flag)


def _tier_of_keywords(keywords: Any) -> str:
    for tier in reversed(TIERS):
        if tier in keywords:
            return tier
    return "unit"


INTEGRATION_OFF = ("opt-in: give an installed Asterisk with --asterisk=PREFIX or CCHARNESS_ASTERISK "
                   "(README: Integration tier)")
CRAWL_OFF = "opt-in (a whole IVR crawl and its suite, minutes): run with --crawl or CCHARNESS_CRAWL=1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--all-tiers", action="store_true",
                     help="run every test tier even after an earlier tier had a failure")
    parser.addoption("--asterisk", metavar="PREFIX", default=os.environ.get("CCHARNESS_ASTERISK"),
                     help="run the integration tier against the Asterisk installed under PREFIX "
                          "(PREFIX/sbin/asterisk; default: $CCHARNESS_ASTERISK; unset: skipped)")
    parser.addoption("--crawl", action="store_true", default=os.environ.get("CCHARNESS_CRAWL") == "1",
                     help="run the tests marked crawl: whole ccharness discover crawls (minutes each)")


def pytest_configure(config: pytest.Config) -> None:
    given = getattr(config, "workerinput", {})
    if _FLAG in given:
        flag = Path(given[_FLAG])
    else:
        folder = Path(tempfile.mkdtemp(prefix="ccharness-tiers-"))
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        flag = folder / "failed"
    tiers = Tiers(config.getoption("--all-tiers"), flag, config.getoption("--asterisk"),
                  config.getoption("--crawl"))
    config.pluginmanager.register(tiers, "ccharness-tiers")


DEFAULT_PLATFORM_LOCK = Path(tempfile.gettempdir()) / "ccharness-tests-default-reference.lock"
DEFAULT_PLATFORM_WAIT_S = 1200.0  # longer than any one test that holds it (the suite's timeout is 900 s)


@pytest.fixture
def default_reference() -> Iterator[None]:
    """Hold the bundled reference platform on its default ports (fixtures/targets/reference.yaml)
    for the test: two xdist workers running ``ccharness run`` against it at once, with different
    faults, would find it "already running with faults: none" and both be errors.  Waits its turn,
    at most DEFAULT_PLATFORM_WAIT_S."""
    with open(DEFAULT_PLATFORM_LOCK, "a+") as lock:
        end = time.monotonic() + DEFAULT_PLATFORM_WAIT_S
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    pytest.fail(f"waited {DEFAULT_PLATFORM_WAIT_S:.0f}s for another test to finish with "
                                f"the default reference platform ({DEFAULT_PLATFORM_LOCK})")
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
