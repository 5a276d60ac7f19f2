"""``ccharness prompts capture``'s command (``harness.cli`` parses its options and hands them over)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def arguments(prompts: argparse.ArgumentParser, default_target: object, default_scenarios: str) -> None:
    """``ccharness prompts capture``'s options."""
    cap = prompts.add_subparsers(dest="action", required=True).add_parser(
        "capture", help="call the target, record each prompt the scenarios expect as heard, trim it "
                        "and store it as reference audio (DIR/<id>.wav and DIR/prompts.yaml)")
    cap.add_argument("paths", nargs="*", help=f"scenarios that reach the prompts (default {default_scenarios}/)")
    cap.add_argument("--target", default=default_target, help="target profile (YAML)")
    cap.add_argument("--out", required=True, metavar="DIR", help="folder for the WAV files and prompts.yaml")
    cap.add_argument("--only", action="append", default=[], metavar="ID,...",
                     help="capture only these prompt ids (comma-separated, repeatable)")
    cap.add_argument("--end-silence", type=_duration, default=1.0, metavar="DURATION",
                     help="a pause this long ends a prompt (default 1.0s; keep it longer than the "
                          "pauses inside a prompt, shorter than those between prompts)")
    cap.add_argument("--max-length", type=_duration, default=60.0, metavar="DURATION",
                     help="cut a prompt with no such pause here (default 60s)")
    cap.add_argument("--force", action="store_true", help="replace files already in DIR")
    cap.add_argument("--work", default=None, metavar="DIR", help="keep phone logs and the whole calls' "
                                                                "audio in DIR (default: a temporary folder)")


def _duration(text: str) -> float:
    from harness.spec.values import BadValue, parse_duration

    try:
        value = parse_duration(text)
    except BadValue as bad:
        raise argparse.ArgumentTypeError(f"{bad.message} ({bad.hint})") from None
    if value < 0.1:
        raise argparse.ArgumentTypeError(f"{text}: at least 0.1s (audio is judged in 20 ms frames)")
    return value


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
