"""Allure reads the scenario's result only: its labels, and each call leg's timeline, SIP trace
(the file the runner wrote) and captured audio. No run, no call: a result made by hand."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.evidence.result import CallLeg, ScenarioResult
from harness.report import allure as allure_report


class Attach:
    """``allure.attach`` and ``allure.attach.file``, keeping what each was given by name."""

    def __init__(self) -> None:
        self.attached: dict[str, tuple[str, Any]] = {}

    def __call__(self, body: str, name: str, attachment_type: str) -> None:
        self.attached[name] = (attachment_type, body)

    def file(self, source: Path, name: str, attachment_type: str, extension: str) -> None:
        self.attached[name] = (attachment_type, Path(source).read_bytes())


class FakeAllure:
    """The parts of ``allure`` that ``attach_run`` uses."""

    def __init__(self) -> None:
        self.labels: list[tuple[str, str]] = []
        self.attach = Attach()
        self.attachment_type = SimpleNamespace(TEXT="text/plain")
        self.dynamic = SimpleNamespace(
            label=lambda name, value: self.labels.append((name, value)),
            feature=lambda value: self.labels.append(("feature", value)),
            epic=lambda value: self.labels.append(("epic", value)),
            description=lambda value: self.labels.append(("description", value)))


def _leg(handle: str, trace: Path | None, capture: Path | None) -> CallLeg:
    return CallLeg("caller-caller", "caller caller", handle, "c1", "caller-caller -> sip:100@127.0.0.1",
                   f"{handle}@host", 0.5, None, "CALLING@0.0s, CONFIRMED@0.2s", (200, "OK"), (), (),
                   None, None, capture_file=capture, trace_file=trace)


def _result(legs: tuple[CallLeg, ...]) -> ScenarioResult:
    return ScenarioResult("s.scenario.yaml", "s", "IVR greets", "The greeting is heard.", "ivr", (),
                          "not_conformant", "expect_prompt", "expect_prompt: not heard",
                          "2023-11-14T22:13:20.000+00:00", "2023-11-14T22:13:30.000+00:00", (), legs)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAllure:
    fake = FakeAllure()
    monkeypatch.setattr(allure_report, "allure", fake)
    return fake


def test_each_leg_is_attached_from_the_result_with_the_trace_file_the_runner_wrote(
        fake: FakeAllure, tmp_path: Path) -> None:
    trace = tmp_path / "sip-caller-caller-h1.txt"
    trace.write_text("[+0.000s 22:13:20] TX 127.0.0.1:5070\nINVITE sip:100@127.0.0.1 SIP/2.0\n")
    capture = tmp_path / "capture-h1.wav"
    capture.write_bytes(b"RIFF....WAVE")
    allure_report.attach_run(_result((_leg("h1", trace, capture), _leg("h2", None, tmp_path / "gone.wav"))))
    assert ("scenario_file", "s.scenario.yaml") in fake.labels and ("verdict", "not_conformant") in fake.labels
    assert ("feature", "ivr") in fake.labels and ("description", "The greeting is heard.") in fake.labels
    attached = fake.attach.attached
    assert attached["caller-caller h1 timeline"] == (
        "text/plain", "caller-caller -> sip:100@127.0.0.1\nCALLING@0.0s, CONFIRMED@0.2s\nSIP Call-ID: h1@host")
    assert attached["caller-caller h1 SIP trace"] == ("text/plain", trace.read_bytes())
    assert attached["caller-caller h1 received audio"] == ("audio/wav", b"RIFF....WAVE")
    assert attached["caller-caller h2 SIP trace"] == ("text/plain", "(no SIP messages)")
    assert "caller-caller h2 received audio" not in attached  # the capture is gone: nothing to attach


def test_without_allure_pytest_nothing_is_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allure_report, "allure", None)
    allure_report.attach_run(_result(()))  # no error, nothing to look at
