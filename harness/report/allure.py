"""Allure results for a scenario run: one Allure step per scenario step, and the call evidence.

allure-pytest is optional: without it these functions do nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.project import PROJECT_ROOT
from harness.report.narration import SUPPORTING_ITEMS, SUPPORTING_WORDS, licence_item

if TYPE_CHECKING:
    from harness.evidence.result import CallLeg, ScenarioResult

allure: Any
try:
    import allure
except ImportError:  # pragma: no cover - depends on the environment
    allure = None


def step_context(index: int, kind: str, step: Any) -> AbstractContextManager[Any]:
    if allure is None:
        return nullcontext()
    mark = getattr(step, "mark", None)
    where = f" (line {mark.line})" if mark else ""
    context: AbstractContextManager[Any] = allure.step(f"{index + 1}. {kind}{where}")
    return context


def epic_of(item: str) -> str:
    """Allure's top grouping: a core licence function, or supporting evidence (security)."""
    if item in SUPPORTING_ITEMS:
        return f"{SUPPORTING_WORDS[0]} {SUPPORTING_WORDS[1]}"
    return "三项核心功能 the three core licence functions"


def attach_run(result: ScenarioResult) -> None:
    """Label the test with its licence item, and attach each call leg's timeline, SIP trace and
    captured audio: all from the scenario's result, as the evidence record has them."""
    if allure is None:
        return
    allure.dynamic.label("scenario_file", result.file)
    allure.dynamic.label("verdict", result.verdict)
    if result.licence_item:
        allure.dynamic.feature(result.licence_item)
        allure.dynamic.epic(epic_of(result.licence_item))
        allure.dynamic.label("licence_item_title", " ".join(licence_item(result.licence_item)))
    if result.description:
        allure.dynamic.description(result.description)
    for leg in result.calls:
        _attach_leg(leg)


def _attach_leg(leg: CallLeg) -> None:
    name = f"{leg.phone} {leg.handle}"
    allure.attach(f"{leg.description}\n{leg.timeline}\nSIP Call-ID: {leg.sip_call_id}",
                  name=f"{name} timeline", attachment_type=allure.attachment_type.TEXT)
    if leg.trace_file is not None:
        # The trace file the runner wrote (and the evidence record names), not a second rendering.
        allure.attach.file(leg.trace_file, name=f"{name} SIP trace", attachment_type=allure.attachment_type.TEXT,
                           extension="txt")
    else:
        allure.attach("(no SIP messages)", name=f"{name} SIP trace", attachment_type=allure.attachment_type.TEXT)
    if leg.capture_file is not None:
        try:
            # allure-python has no WAV type; this one makes the report offer a player.
            allure.attach.file(leg.capture_file, name=f"{name} received audio",
                               attachment_type="audio/wav", extension="wav")
        except OSError:
            pass


ALLURE_TIMEOUT = 180.0


def allure_command() -> list[str] | None:
    """The Allure 3 command line: ./setup.sh installs it under .allure/ when Node.js is present."""
    import shutil

    local = PROJECT_ROOT / ".allure" / "node_modules" / ".bin" / "allure"
    if local.exists() and shutil.which("node"):
        return [str(local)]
    found = shutil.which("allure")
    return [found] if found else None


def generate_html(run_dir: Path) -> tuple[Path | None, str]:
    """Render ``allure-results`` into ``allure-report/``; (path, "") or (None, why it was skipped)."""
    import subprocess

    results = run_dir / "allure-results"
    if not results.is_dir():
        return None, "no allure-results in the run folder (allure-pytest is not installed)"
    command = allure_command()
    if command is None:
        return None, "skipped: Node.js or the Allure command line is missing (install Node.js 20+, run ./setup.sh)"
    out = run_dir / "allure-report"
    try:
        done = subprocess.run([*command, "generate", str(results), "--output", str(out),
                               "--report-name", f"ccharness {run_dir.name}"],
                              cwd=run_dir, capture_output=True, text=True, timeout=ALLURE_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return None, f"failed: allure generate did not finish within {ALLURE_TIMEOUT:.0f}s"
    if done.returncode != 0 or not (out / "index.html").exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, f"failed: allure generate exited {done.returncode}: {' | '.join(tail)}"
    return out / "index.html", ""
