"""``ccharness discover``'s options and command (``harness.cli`` hands them over)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def arguments(disc: argparse.ArgumentParser, default_target: str) -> None:
    disc.add_argument("--target", default=default_target, help="target profile (default: the reference)")
    disc.add_argument("--did", default="main", help="the DID (a name under the profile's dids) to crawl")
    disc.add_argument("--max-depth", type=int, default=3, help="menus this many keys deep are not explored")
    disc.add_argument("--max-calls", type=int, default=200, help="the most calls the crawl places")
    disc.add_argument("--parallel", type=int, default=3, help="calls at once (one caller account each)")
    disc.add_argument("--callers", default="", help="caller accounts, comma-separated (default caller, caller2...)")
    disc.add_argument("--agents", default="", help="agent accounts that ring, comma-separated (default agent*)")
    disc.add_argument("--out", required=True, help="the folder to write the map, prompts and suite to")
    disc.add_argument("--end-silence", type=float, default=1.6, metavar="SECONDS",
                      help="quiet after a prompt that means the platform waits for a key (default 1.6; longer "
                           "than any pause inside the platform's prompts)")
    disc.add_argument("--compare", default=None, metavar="MAP",
                      help="an earlier ivr-map.yaml: report what changed (drift) and exit 1 if anything did")


def main(args: argparse.Namespace, profile: Path) -> int:
    """``ccharness discover``: exit 0, 1 on drift or a part of the tree not explored, 2 on bad input."""
    from harness.discover.compare import read_earlier
    from harness.discover.crawl import Settings
    from harness.discover.run import Request
    from harness.discover.run import discover as crawl
    from harness.errors import HarnessError, SpecError
    from harness.targets.profile import load_target

    if args.parallel < 1 or args.max_calls < 1 or args.max_depth < 0:
        print("ccharness discover: --parallel and --max-calls must be at least 1, --max-depth at least 0",
              file=sys.stderr)
        return 2
    try:
        target = load_target(profile)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    def split(text: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in text.split(",") if p.strip())

    request = Request(target, args.did, Path(args.out).resolve(),
                      Settings(max_depth=args.max_depth, max_calls=args.max_calls, parallel=args.parallel,
                               end_silence=args.end_silence),
                      split(args.callers), split(args.agents))
    try:
        earlier = read_earlier(Path(args.compare).resolve()) if args.compare else None
        found = crawl(request, say=lambda text: print(text, flush=True))
    except (HarnessError, SpecError) as exc:
        print(f"ccharness discover: {exc}", file=sys.stderr)
        return 2
    m, w = found.map, found.written
    print(f"discovered {len(m.nodes)} menu(s), {len(m.edges)} way(s) out, in {m.calls} calls and {m.seconds:.0f}s")
    drifted = _drift(earlier, w.map) if earlier is not None else 0
    for problem in found.failures:
        print(f"  not explored: {problem}")
    suite = w.suite[0].parent if w.suite else "-"
    print(f"map:     {w.map}\npicture: {w.picture}\nprompts: {w.prompts}\nsuite:   {suite} "
          f"({len(w.suite)} scenarios: ccharness run {suite} --target {args.target})")
    return 1 if found.failures or drifted else 0


def _drift(earlier: Any, new_map: Path) -> int:
    """Print what changed from the earlier map to ``new_map``; the number of changes."""
    from harness.discover.compare import compare

    changes = compare(earlier, new_map)
    if not changes:
        print(f"drift: none since {earlier.path}")
    for change in changes:
        print(f"DRIFT {change.line()}")
    return len(changes)


