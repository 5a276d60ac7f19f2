"""What every test folder shares: the test tiers.

Every test belongs to one tier, from its markers:

* ``unit`` -- pure and in-memory (local HTTP/TCP fakes included): no SIP call; seconds.
* ``loopback`` -- real SIP calls on loopback between the harness's phones and peers
  (marked ``sip``).
* ``platform`` -- the bundled reference platform (or its Kamailio) and its faults
  (marked ``platform`` or ``kamailio``): the slow tier, most of the run's time.

``pytest`` runs the tiers in that order, and once a tier has a failure the later
tiers are skipped (``--all-tiers`` runs them all the same), so a broken build
fails in about a minute instead of after the slow tiers.  ``-m unit``,
``-m loopback`` and ``-m platform`` select a tier.
"""

from __future__ import annotations

import pytest

TIERS = ("unit", "loopback", "platform")


def tier_of(item: pytest.Item) -> str:
    """``platform`` if it starts the reference platform or Kamailio, ``loopback`` for SIP calls."""
    if item.get_closest_marker("platform") or item.get_closest_marker("kamailio"):
        return "platform"
    if item.get_closest_marker("sip"):
        return "loopback"
    return "unit"


class Tiers:
    """Orders the tests by tier and skips the tiers after one that failed."""

    def __init__(self, all_tiers: bool) -> None:
        self.all_tiers = all_tiers
        self.tier: dict[str, str] = {}  # test id -> tier
        self.failed: str | None = None  # the first tier with a failure

    @pytest.hookimpl(tryfirst=True)  # the tier markers must be there before -m deselects by them
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            tier = self.tier[item.nodeid] = tier_of(item)
            if not item.get_closest_marker(tier):
                item.add_marker(tier)
        items.sort(key=lambda item: TIERS.index(self.tier[item.nodeid]))  # stable within a tier

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.failed and self.failed != self.tier[item.nodeid] and not self.all_tiers:
            pytest.skip(f"the {self.failed} tier failed: fix it first (or run with --all-tiers)")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and self.failed is None:
            self.failed = self.tier.get(report.nodeid, "unit")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--all-tiers", action="store_true",
                     help="run every test tier even after an earlier tier had a failure")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Tiers(config.getoption("--all-tiers")), "ccharness-tiers")
