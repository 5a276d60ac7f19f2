"""Allure results for a scenario run: one Allure step per scenario step, and the call evidence.

allure-pytest is optional: without it these functions do nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.runner.run import ScenarioRun

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


def attach_run(run: ScenarioRun) -> None:
    """Attach each call leg's timeline, SIP trace and captured audio."""
    if allure is None:
        return
    scenario = run.scenario
    allure.dynamic.label("scenario_file", str(scenario.path))
    if scenario.licence_item:
        allure.dynamic.feature(scenario.licence_item)
    if scenario.description:
        allure.dynamic.description(scenario.description)
    for (phone, handle), tl in run.board.timelines.items():
        name = f"{phone} {handle}"
        allure.attach(f"{tl.description}\n{tl.summary()}\nSIP Call-ID: {tl.sip_call_id}",
                      name=f"{name} timeline", attachment_type=allure.attachment_type.TEXT)
        trace = "\n\n".join(
            f"[{e.t - tl.t0:+.3f}s] {e.data['dir']} {e.data['peer']}\n{e.data['text']}"
            for e in run.board.sip_trace(tl)
        )
        allure.attach(trace or "(no SIP messages)", name=f"{name} SIP trace",
                      attachment_type=allure.attachment_type.TEXT)
        if tl.capture_path:
            try:
                # allure-python has no WAV type; this one makes the report offer a player.
                allure.attach.file(tl.capture_path, name=f"{name} received audio",
                                   attachment_type="audio/wav", extension="wav")
            except OSError:
                pass
