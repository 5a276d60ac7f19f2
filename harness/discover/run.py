"""``ccharness discover``: crawl one DID's IVR and write its map, picture, prompts and a suite.

The crawl's phones are a scenario's: ``parallel`` callers on the profile's caller accounts
(``caller``, ``caller2``... or ``--callers``), and every agent account (``agent*`` or
``--agents``) as a phone that rings and never answers. Bad input -- an unknown DID, too few
caller accounts -- is refused before a call. A profile that has the harness manage its platform
(the bundled reference's) gets it started, as ``ccharness run`` does, and its passwords loaded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.discover.crawl import Crawler, Settings
from harness.discover.model import IvrMap
from harness.discover.write import Written, write_all
from harness.errors import TargetError
from harness.runner.cast import request_uri
from harness.runner.platform import managed_platform
from harness.runner.run import ScenarioRun
from harness.spec.values import Destination
from harness.steps.registry import BY_MODEL, load_scenario
from harness.targets.model import Target

CRAWL_DEADLINE = 3600.0  # seconds: the longest crawl (max_calls bounds it well before)


@dataclass(frozen=True)
class Request:
    target: Target
    did: str
    out: Path
    settings: Settings = field(default_factory=Settings)
    callers: tuple[str, ...] = ()  # account keys; default caller, caller2, ...
    agents: tuple[str, ...] = ()  # account keys; default every agent* account


@dataclass
class Discovered:
    map: IvrMap
    written: Written
    failures: list[str]


def accounts(req: Request) -> tuple[list[str], list[str]]:
    """The caller and agent accounts of the crawl, or an error saying which are missing."""
    names = list(req.target.accounts)
    callers = list(req.callers) or [n for n in names if n == "caller" or (n.startswith("caller") and
                                                                         n[6:].isdigit())]
    callers = callers[:req.settings.parallel]
    agents = list(req.agents) or [n for n in names if n.startswith("agent")]
    unknown = [n for n in (*callers, *agents) if n not in req.target.accounts]
    if unknown:
        raise TargetError(f"target profile {req.target.path} has no account {unknown[0]!r} (accounts: "
                          f"{', '.join(names)})")
    if not callers:
        raise TargetError(f"target profile {req.target.path} has no caller account (caller, caller2, ...): "
                          f"the crawl needs one per call it places at once (--callers)")
    return callers, [a for a in agents if a not in callers]


def discover(req: Request, say: Callable[[str], None] = lambda _: None) -> Discovered:
    if req.did not in req.target.dids:
        known = ", ".join(req.target.dids) or "none"
        raise TargetError(f"target profile {req.target.path} has no DID {req.did!r} (dids: {known})")
    callers, agents = accounts(req)
    uri = request_uri(Destination("did", req.did), req.target, {}, {})
    with tempfile.TemporaryDirectory(prefix="ccharness-discover-") as tmp:
        work = Path(tmp)
        spec = work / "discover.scenario.yaml"
        spec.write_text("\n".join([
            "name: ccharness discover",
            f"deadline: {CRAWL_DEADLINE:g}s",
            "callers:",
            *[f"  crawler{i}: {{account: {name}}}" for i, name in enumerate(callers, 1)],
            *(["agents:", *[f"  {name}: {{behaviour: ring}}" for name in agents]] if agents else []),
            "steps:",
            "  - wait: 0.1s",
        ]) + "\n", encoding="utf-8")
        scenario = load_scenario(spec, None, req.target)
        with managed_platform(req.target, None, work / "managed"):  # the reference: started if need be
            run = ScenarioRun(scenario, req.target, None, work, kinds=BY_MODEL)
            try:
                run.start()
                say(f"crawling {req.did} ({uri}) with {len(callers)} caller(s) and {len(agents)} agent "
                    f"phone(s); at most {req.settings.max_calls} calls, depth {req.settings.max_depth}")
                crawler = Crawler(run, req.did, uri, {a: run.agent_phone[a] for a in agents}, req.settings, say)
                found = crawler.crawl()
            finally:
                run.close()
    written = write_all(found, crawler.book, req.out, req.target)
    return Discovered(found, written, crawler.failures)
