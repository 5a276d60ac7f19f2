"""``ccharness validate --target``: steps the target's adapter cannot perform, prompts, which files.

Every case runs the command in-process on files written here: the bundled
example profiles (trimmed or extended per case) and a short recording
scenario ending in the step under test.  Nothing reaches the network: what an
adapter can do is answered from its profile alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.errors import ScenarioError
from harness.steps.registry import load_scenario
from harness.targets.profile import load_target

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT / "fixtures" / "targets"

RECORDED = """\
name: capability
agents:
  agent1: {}
steps:
  - call: {to: "did:sales"}
  - expect_agent: {agent: agent1, within: 5s}
  - play_marker: {party: caller}
  - hangup
  - expect_recording: {parties: [caller], require_auth: false}
"""
LAST = 10  # the line of the step appended to RECORDED
PROOF = "  - expect_retention_proof: {min_days: 183}\n"
NO_CLOCK = ("cannot move its clock and cannot apply its retention policy on demand, so this step "
            "cannot run there (hint: use expect_retention (the declared policy) or verify_canaries")


def profile(folder: Path, example: str, **adapter: Any) -> Path:
    """The bundled ``<example>.example.yaml`` (or ``reference.yaml``) with ``adapter:`` keys changed;
    a key given None is removed, ``adapter=None`` removes the section."""
    source = EXAMPLES / (f"{example}.yaml" if example == "reference" else f"{example}.example.yaml")
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    spec.pop("prompts", None)  # the scenarios here name no prompt
    spec.pop("doctor", None)
    if "adapter" in adapter and adapter["adapter"] is None:
        spec.pop("adapter")
    else:
        spec["adapter"].update(adapter)
        spec["adapter"] = {k: v for k, v in spec["adapter"].items() if v is not None}
    path = folder / f"{example}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def scenario(folder: Path, last: str, name: str = "s.scenario.yaml") -> Path:
    path = folder / name
    path.write_text(RECORDED + last, encoding="utf-8")
    return path


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["validate", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


DIRECTORY_SOURCE = {"type": "directory", "folder": "/var/lib/freeswitch/recordings",
                    "recording_name": "cc-{call_id}"}
SFTP_SOURCE = {"type": "sftp", "host": "fs.example.com", "username": "harness",
               "password": "${ENV:CC_SFTP_PASSWORD}", "host_key": "SHA256:" + "A" * 43,
               "folder": "/var/lib/freeswitch/recordings", "recording_name": "cc-{call_id}"}

GAPS: dict[str, tuple[str, dict[str, Any], str, str, str]] = {
    # case: (example profile, adapter changes, the step, field, what is missing and the fix)
    "asterisk has no clock to move": ("asterisk", {}, PROOF, "steps[5].expect_retention_proof", NO_CLOCK),
    "freeswitch has no clock to move": ("freeswitch", {}, PROOF, "steps[5].expect_retention_proof",
                                        NO_CLOCK),
    "an HTTP API has no clock to move": ("http", {}, PROOF, "steps[5].expect_retention_proof", NO_CLOCK),
    "a folder has no clock to move": ("directory", {}, PROOF, "steps[5].expect_retention_proof", NO_CLOCK),
    "an SFTP server has no clock to move": ("sftp", {}, PROOF, "steps[5].expect_retention_proof", NO_CLOCK),
    "a folder cannot show who may read it": (
        "directory", {}, "  - expect_recording: {parties: [caller]}\n", "steps[5].expect_recording",
        "cannot show that a recording is refused without credentials, so this step cannot run there "
        "(hint: set require_auth: false on this step"),
    "freeswitch's folder source neither": (
        "freeswitch", {"recordings": DIRECTORY_SOURCE}, "  - expect_recording: {parties: [caller]}\n",
        "steps[5].expect_recording", "cannot show that a recording is refused without credentials"),
    "no adapter section, no canaries": (
        "asterisk", {"adapter": None}, "  - verify_canaries\n", "steps[5].verify_canaries",
        "has no adapter: section to reach its recordings through, so this step cannot run there "
        "(hint: add an adapter: section to the profile"),
    "asterisk cannot say its retention": (
        "asterisk", {"retention_days": None}, "  - expect_retention: {min_days: 183}\n",
        "steps[5].expect_retention", "does not say how long it keeps recordings and its profile declares "
        "no adapter.retention_days, so this step cannot run there (hint: set adapter.retention_days"),
    "no storage declared": (
        "sftp", {"storage": None}, "  - expect_storage: {min_days: 183}\n", "steps[5].expect_storage",
        "declares no adapter.storage, so this step cannot run there (hint: add adapter.storage: "
        "{capacity_gb, calls_per_day, minutes_per_call} to the profile)"),
}


@pytest.mark.parametrize("case", sorted(GAPS))
def test_a_step_the_target_cannot_perform_is_an_error_with_its_fix(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example, adapter, step, field, said = GAPS[case]
    target = profile(tmp_path, example, **adapter)
    path = scenario(tmp_path, step)
    code, output = validate(capsys, "--target", str(target), str(path))
    name = yaml.safe_load(target.read_text(encoding="utf-8"))["name"]
    assert code == 1
    assert f"{path}:{LAST}:5: {field}: the target '{name}' (profile {target}) {said}" in output
    assert output.count(f": {field}: ") == 1, "one problem for the step, however much it lacks"


CONFORMANT: dict[str, tuple[str, dict[str, Any], str]] = {
    "the reference moves its clock": ("reference", {}, PROOF),
    "asterisk declares its retention in the profile": ("asterisk", {}, "  - expect_retention\n"),
    "an HTTP API says its retention": (
        "http", {"retention_days": None, "retention": {"url": "/settings/retention", "days": "data.days"}},
        "  - expect_retention\n"),
    "asterisk keeps canaries": ("asterisk", {}, "  - verify_canaries\n"),
    "an SFTP server shows who may read": ("sftp", {}, "  - expect_recording: {parties: [caller]}\n"),
    "freeswitch's SFTP source too": (
        "freeswitch", {"recordings": SFTP_SOURCE}, "  - expect_recording: {parties: [caller]}\n"),
    "a folder without require_auth": ("directory", {}, "  - expect_storage\n"),
}


@pytest.mark.parametrize("case", sorted(CONFORMANT))
def test_a_step_the_target_can_perform_passes(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example, adapter, step = CONFORMANT[case]
    target = profile(tmp_path, example, **adapter)
    code, output = validate(capsys, "--target", str(target), str(scenario(tmp_path, step)))
    assert (code, output) == (0, "2 file(s) checked, 0 with problems\n")


def test_the_run_refuses_the_scenario_up_front_with_the_same_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plugin collects a scenario through ``load_scenario``: the run stops there, before a call."""
    target = profile(tmp_path, "asterisk")
    path = scenario(tmp_path, PROOF)
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, None, load_target(target))
    _, output = validate(capsys, "--target", str(target), str(path))
    assert [str(p) for p in refused.value.problems] == [output.split("\n2 file(s) checked")[0]]


def test_capture_does_not_refuse_what_it_does_not_run(tmp_path: Path) -> None:
    """``prompts capture`` only calls the IVR: it loads the scenario without the adapter check."""
    target = load_target(profile(tmp_path, "asterisk"))
    steps = load_scenario(scenario(tmp_path, PROOF), None, target, adapter_checked=False).steps
    assert type(steps[-1]).__name__ == "ExpectRetentionProofStep"


PROMPTS = """\
name: prompts
agents:
  agent1: {play: {prompt: hello_agent}}
steps:
  - call: {to: "did:sales"}
  - expect_prompt: {prompt: welcom, within: 5s}
  - play: {prompt: goodbye}
  - repeat:
      count: 2
      steps:
        - expect_prompt: {prompt: menu, within: 5s}
"""


def test_every_prompt_named_without_a_library_is_listed_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.scenario.yaml"
    path.write_text(PROMPTS, encoding="utf-8")
    code, output = validate(capsys, "--target", str(profile(tmp_path, "asterisk")), str(path))
    assert code == 1
    assert (f"{path}:3:19: agents.agent1.play.prompt: no prompt library to check these prompts against: "
            f"'hello_agent' (line 3), 'welcom' (line 6), 'goodbye' (line 7), 'menu' (line 11) "
            f"(hint: set prompts: in the scenario or the target profile)") in output
    for number in (3, 6, 7, 11):
        assert f"\n{number:5d} | " in output, f"line {number} is shown"


def test_every_unknown_prompt_is_its_own_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library = tmp_path / "prompts.yaml"
    library.write_text("prompts:\n  welcome: {file: welcome.wav}\n  menu: {file: menu.wav}\n", encoding="utf-8")
    for name in ("welcome", "menu"):
        (tmp_path / f"{name}.wav").write_bytes(b"")
    path = tmp_path / "p.scenario.yaml"
    path.write_text("prompts: prompts.yaml\n" + PROMPTS, encoding="utf-8")
    code, output = validate(capsys, "--target", str(profile(tmp_path, "asterisk")), str(path))
    heads = [line for line in output.splitlines() if line.startswith(str(path))]
    assert code == 1
    assert [h.split(": ")[1] for h in heads] == ["agents.agent1.play.prompt", "steps[1].expect_prompt.prompt",
                                                  "steps[2].play.prompt"]
    assert [h.split(":")[1] for h in heads] == ["4", "7", "8"]


def test_only_the_files_given_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = profile(tmp_path, "asterisk")
    good = scenario(tmp_path, "  - verify_canaries\n", "good.scenario.yaml")
    (tmp_path / "broken.scenario.yaml").write_text("name: [\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text("name: other\n", encoding="utf-8")  # a broken profile
    assert validate(capsys, "--target", str(target), str(good)) == (0, "2 file(s) checked, 0 with problems\n")
    # the target named again among the paths is checked once
    assert validate(capsys, "--target", str(target), str(target), str(good))[1].startswith("2 file(s)")
    monkeypatch.chdir(tmp_path)  # scenarios/ivr is the project's, not here: it is not looked for there
    code, output = validate(capsys, "--target", str(target), "scenarios/ivr", "good.scenario.yaml")
    assert (code, output) == (1, "scenarios/ivr: no such file or folder\n2 file(s) checked, 1 with problems\n")


def test_without_paths_the_bundled_scenarios_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    bundled = list((PROJECT / "scenarios").rglob("*.scenario.yaml"))
    _, output = validate(capsys)
    assert f"{len(bundled) + 1} file(s) checked" in output


def test_a_broken_target_says_the_scenarios_were_checked_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "broken.yaml"
    target.write_text("name: broken\n", encoding="utf-8")
    code, output = validate(capsys, "--target", str(target), str(scenario(tmp_path, PROOF)))
    assert code == 1
    assert f"The scenarios were checked without the target: its profile {target} has the problems" in output
    assert "the target 'broken'" not in output
