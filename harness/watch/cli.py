"""``ccharness watch``: run the suite on a schedule, keep the history, call hooks on a change."""

from __future__ import annotations

import argparse
import re
import shlex
import signal
import sys
from pathlib import Path
from types import FrameType

from harness.errors import SpecError
from harness.watch.hooks import Command, Webhook
from harness.watch.rounds import Hook, Settings, Watch

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
WEEK = 7 * 86400.0


def interval(text: str) -> float:
    """``30s``, ``15m``, ``6h``, ``1d`` or seconds: more than 0, at most a week."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: not a duration (write 30s, 15m, 6h or 1d)")
    seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if not 0 < seconds <= WEEK:
        raise argparse.ArgumentTypeError(f"{text!r}: more than 0 and at most a week")
    return seconds


def _rounds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of rounds, at least 1")
    return int(text)


def arguments(parser: argparse.ArgumentParser, default_target: str) -> None:
    parser.add_argument("--target", default=default_target, help="target profile (default: the reference)")
    parser.add_argument("--suite", nargs="+", default=[], metavar="PATH",
                        help="scenario files or folders each round runs (default scenarios/)")
    parser.add_argument("--every", type=interval, default=900.0, metavar="DURATION",
                        help="pause between the end of a round and the start of the next (default 15m)")
    parser.add_argument("--precise", action="store_true",
                        help="count --every from the start of one round to the start of the next")
    parser.add_argument("--rounds", type=_rounds, default=None, metavar="N",
                        help="stop after N rounds (default: until Ctrl-C); --rounds 1 from cron")
    parser.add_argument("--round-timeout", type=interval, default=7200.0, metavar="DURATION",
                        help="stop a round still running after this long (default 2h)")
    parser.add_argument("--reports", default="reports", help="folder for run folders and the ledger "
                                                             "(default reports/)")
    parser.add_argument("--hook-url", action="append", default=[], metavar="URL",
                        help="POST each round's changes as JSON to URL (repeatable)")
    parser.add_argument("--hook-command", action="append", default=[], metavar="COMMAND",
                        help="run COMMAND with each round's changes as JSON on its standard input "
                             "(repeatable)")
    parser.add_argument("--discover-compare", default=None, metavar="MAP",
                        help="after the suite, crawl the IVR again and compare it with MAP (a map "
                             "ccharness discover wrote); a drift is a change")
    parser.add_argument("--discover-options", default="", metavar="'OPTIONS'",
                        help="more options for that crawl, e.g. '--parallel 4 --end-silence 1.0'")


def settings_of(args: argparse.Namespace, profile: Path) -> tuple[Settings, list[Hook]]:
    """The watch's settings and hooks; ``ValueError`` or ``SpecError`` names the bad option or file."""
    from harness.evidence.records import target_secrets
    from harness.evidence.runbook import address
    from harness.targets.profile import load_target
    from harness.watch.drift import map_did

    target = load_target(profile)
    did = map_did(args.discover_compare) if args.discover_compare is not None else ""
    hooks: list[Hook] = [Webhook(url) for url in args.hook_url]
    hooks += [Command(command) for command in args.hook_command]
    suite = tuple(str(Path(p).resolve()) for p in args.suite)
    for path in suite:
        if not Path(path).exists():
            raise ValueError(f"--suite {path}: no such file or folder")
    return Settings(profile.resolve(), target.name, Path(args.reports).resolve(), suite, args.every,
                    args.rounds, args.precise, args.round_timeout,
                    Path(args.discover_compare).resolve() if args.discover_compare else None,
                    tuple(shlex.split(args.discover_options)), sys.executable,
                    address(target.host, target.port, target.transport), target_secrets(target), did), hooks


def main(args: argparse.Namespace, profile: Path) -> int:
    try:
        settings, hooks = settings_of(args, profile)
    except (ValueError, SpecError) as exc:
        print(f"ccharness watch: {exc}", file=sys.stderr)
        return 2

    def say(line: str) -> None:
        print(line, flush=True)

    watch = Watch(settings, hooks, say)

    def stop(signum: int, frame: FrameType | None) -> None:
        watch.stop()  # a count only: the watch's loop says and does the rest

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    every = f"every {args.every:g}s" + (" (start to start)" if settings.precise else " (end to start)")
    say(f"watch: target {settings.target} ({settings.profile}), {every}, reports {settings.reports}, "
        f"hooks: {', '.join(str(h) for h in hooks) or 'none'}")
    return watch.forever()
