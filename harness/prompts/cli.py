"""``ccharness prompts capture``'s command (``harness.cli`` parses its options and hands them over)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(args: argparse.Namespace, profile: Path, paths: list[str]) -> int:
    """``ccharness prompts capture``: exit 0, 1 when some prompt was not captured, 2 on bad input."""
    import tempfile

    from harness.errors import HarnessError, SpecError
    from harness.prompts.capture import Request, capture
    from harness.prompts.replay import Settings
    from harness.targets.profile import load_target

    only = tuple(dict.fromkeys(p.strip() for item in args.only for p in item.split(",") if p.strip()))
    try:
        target = load_target(profile)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"ccharness prompts capture: target {target.name} ({target.path}): {target.host}:"
          f"{target.port}/{target.transport}, managed: {target.managed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ccharness-prompts-") as temporary:
        request = Request(target, tuple(Path(p) for p in paths),
                          Path(args.out).resolve(), Path(args.work or temporary).resolve(), only,
                          Settings(args.end_silence, args.max_length), args.force)
        try:
            outcome = capture(request, say=lambda text: print(text, flush=True))
        except SpecError as exc:
            print(exc, file=sys.stderr)
            return 2
        except HarnessError as exc:
            print(f"ccharness prompts capture: {exc}", file=sys.stderr)
            return 2
    print("\n".join(outcome.lines()))
    return 1 if outcome.missing else 0
