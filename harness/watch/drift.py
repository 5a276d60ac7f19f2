"""The watch's drift check: ``ccharness discover --compare MAP`` after a round's suite.

The map is the baseline, so the first drift is a change (``drift``), as is
the IVR coming back to the map (``drift_gone``) and a check that could not
crawl (``drift_error``, once until it crawls again). The drift lines are the
ones ``discover`` prints (``DRIFT ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from harness.watch.hooks import Event

if TYPE_CHECKING:
    from harness.watch.rounds import Watch


def map_did(path: str) -> str:
    """The DID name a map was crawled from (its ``did:``)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"--discover-compare {path}: not a readable map ({exc})") from None
    did = doc.get("did") if isinstance(doc, dict) else None
    if not isinstance(did, str) or not did:
        raise ValueError(f"--discover-compare {path}: no did: field (not a map ccharness discover wrote)")
    return did


def drift_check(watch: Watch, run_id: str) -> list[Event]:
    """One crawl compared with the map; an event when what drifts is not what drifted last round:
    the first drift, a new or different one, the IVR matching the map again, a crawl that failed
    or did not cover the whole tree (its drift is not known, not none)."""
    s = watch.settings
    assert s.discover_map is not None
    out = s.reports / "watch" / f"{run_id}-discover"
    log = s.reports / "watch" / f"{run_id}-discover.log"
    argv = [s.python, "-m", "harness.cli", "discover", "--target", str(s.profile), "--did", s.did,
            "--out", str(out), "--compare", str(s.discover_map), *s.discover_options]
    watch.say(f"watch: round {watch.round}: drift check of {s.discover_map} (log {log})")
    took, why = watch.run_child(argv, log, s.round_timeout)
    if watch.stopping:
        return []
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lines = [line.strip() for line in text.splitlines()]
    drift = frozenset(line for line in lines if line.startswith("DRIFT"))
    unexplored = [line for line in lines if line.startswith("not explored:")]
    if why is not None or unexplored:
        failed = why or f"the crawl did not cover the tree ({'; '.join(unexplored)[:300]})"
        if watch.drift is None:
            return []
        watch.drift = None
        return [Event("drift_error", f"drift check ERROR: {failed}", {"map": str(s.discover_map)})]
    was, watch.drift = watch.drift, drift
    watch.say(f"watch: drift check: {len(drift)} change(s) from the map ({took:.0f}s)")
    if drift and drift != was:
        new = sorted(drift - (was or frozenset()))
        return [Event("drift", f"DRIFT from {s.discover_map}: " + "; ".join(new or sorted(drift)), {
            "map": str(s.discover_map), "drift": sorted(drift), "new": new, "crawl": str(out)})]
    if not drift and was:
        return [Event("drift_gone", f"the IVR matches {s.discover_map} again", {"map": str(s.discover_map)})]
    return []
