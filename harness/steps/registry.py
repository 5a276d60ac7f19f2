"""The step kinds, listed explicitly in the order the schema shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.scenario import loader
from harness.scenario.model import Scenario
from harness.steps import (
    call,
    dial_out,
    expect_agent,
    expect_answer,
    expect_audio,
    expect_call_refused,
    expect_campaign,
    expect_carrier_call,
    expect_distribution,
    expect_do_not_call,
    expect_dtmf,
    expect_forbidden_hours,
    expect_hangup,
    expect_offer_headers,
    expect_prompt,
    expect_quality,
    expect_queue_entered,
    expect_recording,
    expect_register,
    expect_retention,
    expect_retention_proof,
    expect_seats,
    expect_silence,
    expect_storage,
    hangup,
    originate,
    play,
    play_marker,
    send_dtmf,
    verify_canaries,
    wait,
)
from harness.steps.kind import StepKind
from harness.targets.model import PromptLibrary, Target
from harness.targets.registry import capabilities

KINDS: tuple[StepKind[Any], ...] = (
    call.KIND,
    expect_answer.KIND,
    expect_prompt.KIND,
    expect_silence.KIND,
    expect_audio.KIND,
    send_dtmf.KIND,
    expect_dtmf.KIND,
    expect_agent.KIND,
    expect_hangup.KIND,
    play.KIND,
    wait.KIND,
    hangup.KIND,
    expect_distribution.KIND,
    play_marker.KIND,
    expect_recording.KIND,
    expect_retention.KIND,
    expect_retention_proof.KIND,
    verify_canaries.KIND,
    expect_storage.KIND,
    expect_register.KIND,
    expect_call_refused.KIND,
    expect_queue_entered.KIND,
    expect_offer_headers.KIND,
    expect_seats.KIND,
    expect_quality.KIND,
    dial_out.KIND,
    originate.KIND,
    expect_carrier_call.KIND,
    expect_forbidden_hours.KIND,
    expect_do_not_call.KIND,
    expect_campaign.KIND,
)
BY_NAME: dict[str, StepKind[Any]] = {k.name: k for k in KINDS}
BY_MODEL: dict[type, StepKind[Any]] = {k.model: k for k in KINDS}


def load_scenario(path: Path, prompts: PromptLibrary | None, target: Target | None = None,
                  adapter_checked: bool = True) -> Scenario:
    """Load and check one scenario file with every step kind (``harness.scenario.loader``).

    With a ``target`` (and ``adapter_checked``), a step that needs what the target's adapter
    cannot do (``StepKind.needs``) is a problem of the file, found from the profile alone.
    """
    known = capabilities(target) if target is not None and adapter_checked else None
    return loader.load_scenario(path, prompts, target, KINDS, known)
