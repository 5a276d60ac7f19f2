"""The ``ccharness`` command.

``ccharness run``       run scenarios against a target (pytest underneath), print report paths
``ccharness rehearse``  the same run paced for an on-site inspection: each step announced, then Enter
``ccharness validate``  check scenarios and target profiles, list every problem
``ccharness report``    render a run folder's report, checklist and manifest again
``ccharness verify``    check a run folder against its manifest (what changed since)
``ccharness reference up|down|status``  the bundled reference platform
``ccharness doctor``    pre-flight check of a target profile against its platform, one line per check
``ccharness load``      put a load profile's traffic on a platform with Locust (master/workers)
``ccharness history``   per scenario, verdicts and figures over the last runs; an HTML page
``ccharness watch``     run the suite on a schedule, call hooks when a verdict changes
``ccharness prompts capture``  record the platform's prompts as heard, as the reference audio for matching
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from harness.plugin import DEFAULT_TARGET, SUFFIX, resolve
from harness.project import PROJECT_ROOT

DEFAULT_SCENARIOS = "scenarios"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccharness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _run_arguments(sub.add_parser("run", help="run scenarios against a target platform"))
    reh = sub.add_parser("rehearse", help="rehearse the on-site inspection (现场核查): a run that "
                                          "announces each step and waits for Enter")
    _run_arguments(reh)
    reh.add_argument("--pace", type=_seconds, default=None, metavar="SECONDS",
                     help="advance every SECONDS instead of waiting for Enter")
    val = sub.add_parser("validate", help="check scenarios and target profiles; exit 1 on any problem")
    val.add_argument("paths", nargs="*", help="scenario files/folders and target profiles")
    val.add_argument("--target", default=DEFAULT_TARGET, help="target profile the scenarios are checked against")
    rep = sub.add_parser("report", help="render a run folder's evidence report, video checklist and manifest")
    rep.add_argument("run_dir", help="the run folder (reports/<run-id>)")
    rep.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    ver = sub.add_parser("verify", help="check a run folder against its manifest; exit 1 if anything changed")
    ver.add_argument("run_dir", help="the run folder (reports/<run-id>)")
    doc = sub.add_parser("doctor", help="pre-flight check of a target profile against its platform: "
                                        "reachability, OPTIONS, registration, a test call, DTMF, API, clock")
    doc.add_argument("--target", default=DEFAULT_TARGET, help="target profile (YAML)")
    doc.add_argument("--did", default=None, metavar="NAME", help="the DID the test call dials (default: the "
                                                                "profile's first)")
    doc.add_argument("--work", default=None, metavar="DIR", help="keep phone logs and captures in DIR "
                                                                "(default: a temporary folder, removed)")
    from harness.prompts.cli import arguments as prompts_arguments

    prompts_arguments(sub.add_parser("prompts", help="the platform's prompts: capture them as heard "
                                                     "through its IVR"), DEFAULT_TARGET, DEFAULT_SCENARIOS)
    from harness.load.cli import add_arguments as load_arguments

    load_arguments(sub.add_parser("load", help="put a load profile's traffic on a platform with Locust "
                                  "(thresholds decide the exit status)"), DEFAULT_TARGET)
    _discover_arguments(sub.add_parser("discover", help="crawl a DID's IVR on real calls: write its map, "
                                                     "picture, prompts and a generated suite"))
    from harness.history.cli import arguments as history_arguments
    from harness.watch.cli import arguments as watch_arguments

    history_arguments(sub.add_parser("history", help="per scenario, the verdicts, durations and figures of "
                                     "the last runs, flapping ones called out; an HTML page with charts"))
    watch_arguments(sub.add_parser("watch", help="run the suite on a schedule against a (staging) "
                                   "platform; call hooks when a verdict changes"), str(DEFAULT_TARGET))
    ref = sub.add_parser("reference", help="start, stop or inspect the bundled reference platform")
    ref.add_argument("action", choices=["up", "down", "status"])
    ref.add_argument("--fault", action="append", default=[], help="start with this fault (repeatable)")
    ref.add_argument("--list-faults", action="store_true", help="list the faults it offers")
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("paths", nargs="*", help=f"scenario files or folders (default {DEFAULT_SCENARIOS}/)")
    run.add_argument("--target", default=DEFAULT_TARGET, help="target profile (YAML)")
    run.add_argument("--reports", default="reports", help="folder for run folders (default reports/)")
    run.add_argument("--run-id", default=None, help="name of the run folder (default: UTC time)")
    run.add_argument("-k", dest="keyword", default=None, help="only scenarios whose name matches")
    run.add_argument("--workers", type=int, default=0, metavar="N",
                     help="run scenarios in N processes (pytest-xdist); those that use agents or "
                          "queues still run one after another")
    run.add_argument("--reference-fault", action="append", default=[], metavar="NAME",
                     help="start the reference platform with this fault (repeatable; see "
                          "ccharness reference up --list-faults) to watch a check fail")
    run.add_argument("--busy-retries", type=int, default=None, metavar="N",
                     help="run a scenario again, at most N times (default 2), when it could not decide "
                          "because this machine was too busy; a fail is never run again")
    run.add_argument("--at", default=None, metavar="WHEN", type=_when,
                     help="start at WHEN: 2026-12-05T21:05+08:00, or HH:MM on this machine's clock (the "
                          "next one); e.g. the side of the forbidden hours a platform's clock cannot reach")


def _discover_arguments(disc: argparse.ArgumentParser) -> None:
    from harness.discover.cli import arguments

    arguments(disc, str(DEFAULT_TARGET))


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text}: not a number of seconds >= 0")
    return value


def _scenario_paths(paths: list[str]) -> list[str]:
    return [str(resolve(p)) for p in (paths or [DEFAULT_SCENARIOS])]


MAX_WAIT = 8 * 86400.0  # --at: a week and a day ahead at most


def _when(text: str) -> datetime:
    """``--at``: an ISO moment with its zone, or ``HH:MM`` today (tomorrow if past) on this machine."""
    now = datetime.now().astimezone()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", text):
            hh, mm = (int(x) for x in text.split(":"))
            when = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
            return when if when > now else when + timedelta(days=1)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a time (2026-12-05T21:05+08:00 or HH:MM)") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give its time zone, e.g. {text}+08:00")
    if not 0 <= (when - now).total_seconds() <= MAX_WAIT:
        raise argparse.ArgumentTypeError(f"{text!r}: not within the next {MAX_WAIT / 86400:g} days")
    return when


def run(args: argparse.Namespace) -> int:
    if args.at is not None:  # every wait has a deadline: this one is the moment asked for
        wait = max(0.0, (args.at - datetime.now().astimezone()).total_seconds())
        print(f"ccharness run: waiting until {args.at.isoformat(timespec='minutes')} ({wait / 3600:.1f} h); "
              "Ctrl-C to cancel", flush=True)
        time.sleep(wait)
    return _run_pytest(args)


def rehearse(args: argparse.Namespace) -> int:
    from harness.report.rehearsal import intro

    print("\n".join(intro(args.pace)), end="\n\n")
    # -s: the presenter's Enter and the live display must pass pytest's capture untouched.
    extra = ["-s", "--cc-rehearse=" + ("enter" if args.pace is None else f"{args.pace:g}")]
    if args.pace is None and importlib.util.find_spec("pytest_timeout") is not None:
        extra.append("--timeout=0")  # a person presenting has no time limit; paced runs keep the backstop
    return _run_pytest(args, extra)


def _run_pytest(args: argparse.Namespace, extra: tuple[str, ...] | list[str] = ()) -> int:
    """Run the scenarios under pytest into reports/<run-id>/, then print where everything is."""
    import pytest

    run_id = args.run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_dir = Path(args.reports).resolve() / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    pytest_args = [
        *_scenario_paths(args.paths), "-p", "no:cacheprovider", "-v", "--rootdir", str(PROJECT_ROOT),
        f"--cc-target={args.target}", f"--cc-reports={args.reports}", f"--cc-run-id={run_id}",
        f"--junitxml={run_dir / 'junit.xml'}",
    ]
    if importlib.util.find_spec("allure_pytest") is not None:
        pytest_args.append(f"--alluredir={run_dir / 'allure-results'}")
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    pytest_args += [f"--cc-reference-fault={f}" for f in args.reference_fault]
    if getattr(args, "busy_retries", None) is not None:
        pytest_args.append(f"--cc-busy-retries={args.busy_retries}")
    if getattr(args, "workers", 0) > 1:
        pytest_args += ["-n", str(args.workers), "--dist", "loadgroup"]
    pytest_args += extra
    code = int(pytest.main(pytest_args))
    verdict = {0: "CONFORMANT", 1: "NOT CONFORMANT (or errors; see above)"}.get(code, f"pytest exit {code}")
    print(f"\nverdict:         {verdict}")
    print(f"run folder:      {run_dir}")
    print(f"JUnit XML:       {run_dir / 'junit.xml'}")
    if (run_dir / "allure-results").exists():
        print(f"Allure results:  {run_dir / 'allure-results'}")
    if (run_dir / "evidence.jsonl").exists():
        from harness.errors import HarnessError
        from harness.report.render import render_run

        try:
            for line in render_run(run_dir).lines():
                print(line)
        except HarnessError as exc:
            print(f"evidence report: NOT RENDERED: {exc}", file=sys.stderr)
            code = code or 2
    return code


def validate(args: argparse.Namespace) -> int:
    """Check the target profile, the profiles and scenarios given (or, given none, the bundled
    scenarios) and nothing else: every problem of every file, without touching the network."""
    target_path = resolve(args.target)
    same = target_path.resolve()
    profiles = list(dict.fromkeys(
        Path(p) for p in args.paths if p.endswith((".yaml", ".yml")) and not p.endswith(SUFFIX)
        and Path(p).is_file() and Path(p).resolve() != same))
    given = [p for p in args.paths if Path(p) not in profiles and Path(p).resolve() != same]
    problems: list[str] = []
    target, prompts = _checked_profile(target_path, problems)
    for profile in profiles:
        _checked_profile(profile, problems)
    files = _scenario_files(given if args.paths else _scenario_paths([]), problems)
    problems += _scenario_problems(files, target, prompts)
    for text in problems:
        print(text, file=sys.stderr)
    if files and target is None:
        print(f"The scenarios were checked without the target: its profile {target_path} has the "
              f"problems above, so their accounts, DIDs, prompts and the steps its adapter cannot "
              f"perform were not checked.", file=sys.stderr)
    checked = len(files) + len(profiles) + 1
    print(f"{checked} file(s) checked, {len(problems)} with problems", file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


def _checked_profile(path: Path, problems: list[str]) -> tuple[Any, Any]:
    """A target profile and its prompt library, loaded; (None, None) when they have problems."""
    from harness.errors import SpecError
    from harness.targets.profile import load_prompt_library, load_target

    try:
        target = load_target(path)
        return target, load_prompt_library(target.prompts) if target.prompts else None
    except SpecError as exc:
        problems.append(str(exc))
        return None, None


def _scenario_files(paths: list[str], problems: list[str]) -> list[Path]:
    """The scenario files the paths name, as given: a path that is not there is a problem (it is
    not looked for anywhere else)."""
    from harness.errors import SpecError
    from harness.scenario.loader import discover

    files: list[Path] = []
    for name in paths:
        try:
            files += discover([Path(name)])
        except SpecError as exc:
            problems.append(str(exc))
    return list(dict.fromkeys(files))


def _scenario_problems(files: list[Path], target: Any, prompts: Any) -> list[str]:
    """Each scenario file's problems, checked against the target (when it loaded)."""
    from harness.errors import SpecError
    from harness.steps.registry import load_scenario

    problems = []
    for path in files:
        try:
            load_scenario(path, prompts, target)
        except SpecError as exc:
            problems.append(str(exc))
    return problems


def report(args: argparse.Namespace) -> int:
    from harness.errors import HarnessError
    from harness.report.render import render_run

    try:
        rendered = render_run(Path(args.run_dir), pdf=not args.no_pdf)
    except HarnessError as exc:
        print(f"ccharness report: {exc}", file=sys.stderr)
        return 2
    for line in rendered.lines():
        print(line)
    return 0


def verify(args: argparse.Namespace) -> int:
    from harness.errors import HarnessError
    from harness.evidence.manifest import verify as check

    try:
        result = check(Path(args.run_dir))
    except HarnessError as exc:
        print(f"ccharness verify: {exc}", file=sys.stderr)
        return 2
    for line in result.lines():
        print(line)
    print(f"{result.checked} file(s) in the manifest: " + ("intact" if result.intact else "CHANGED since the run"))
    return 0 if result.intact else 1


def doctor(args: argparse.Namespace) -> int:
    import tempfile

    from harness.doctor.examination import examine
    from harness.doctor.finding import summary
    from harness.errors import SpecError
    from harness.targets.profile import load_target

    try:
        target = load_target(resolve(args.target))
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.did is not None and args.did not in target.dids:
        known = ", ".join(target.dids) or "none"
        print(f"ccharness doctor: --did {args.did}: the profile's dids are {known}", file=sys.stderr)
        return 2
    print(f"ccharness doctor: target {target.name} ({target.path}): {target.host}:{target.port}/"
          f"{target.transport}, managed: {target.managed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ccharness-doctor-") as temporary:
        findings = []
        for finding in examine(target, Path(args.work or temporary).resolve(), args.did):
            findings.append(finding)
            print("\n".join(finding.lines()), flush=True)
    print(f"doctor: {summary(findings)}")
    return 1 if any(f.verdict == "FAIL" for f in findings) else 0


def prompts(args: argparse.Namespace) -> int:
    from harness.prompts.cli import main as prompts_main

    return prompts_main(args, resolve(args.target), _scenario_paths(args.paths))


def reference(args: argparse.Namespace) -> int:
    from harness.runner.platform import REFERENCE_STATE
    from harness.runner.platform import reference as call

    extra = ["--list-faults"] if args.list_faults else [a for f in args.fault for a in ("--fault", f)]
    result = call(args.action, REFERENCE_STATE, *extra)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def discover(args: argparse.Namespace) -> int:
    from harness.discover.cli import main as discover_main

    return discover_main(args, resolve(args.target))


def history(args: argparse.Namespace) -> int:
    from harness.history.cli import main as history_main

    return history_main(args)


def watch(args: argparse.Namespace) -> int:
    from harness.watch.cli import main as watch_main

    return watch_main(args, resolve(args.target))


def load(args: argparse.Namespace) -> int:
    from harness.load.cli import main as load_main

    if args.target:
        args.target = str(resolve(args.target))
    return load_main(args, resolve(DEFAULT_TARGET), PROJECT_ROOT / "reports")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"run": run, "rehearse": rehearse, "validate": validate, "report": report, "verify": verify,
                "reference": reference, "doctor": doctor, "prompts": prompts, "load": load,
                "discover": discover, "history": history, "watch": watch}
    return int(commands[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
