"""Good files load into the model with the values and defaults the format promises."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.scenario.loader import SCHEMA as SCENARIO_SCHEMA
from harness.scenario.loader import discover
from harness.scenario.model import Audio, CallerSpec, Scenario, Tone
from harness.spec.schema import load_schema
from harness.spec.values import Destination
from harness.spec.yamlmarks import Mark
from harness.steps.call import CallStep
from harness.steps.expect_agent import ExpectAgentStep
from harness.steps.expect_answer import ExpectAnswerStep
from harness.steps.expect_dtmf import ExpectDtmfStep
from harness.steps.expect_hangup import ExpectHangupStep
from harness.steps.expect_prompt import ExpectPromptStep
from harness.steps.expect_silence import ExpectSilenceStep
from harness.steps.hangup import HangupStep
from harness.steps.play import PlayStep
from harness.steps.registry import load_scenario
from harness.steps.send_dtmf import SendDtmfStep
from harness.steps.wait import WaitStep
from harness.targets.model import Account, Peer, PromptLibrary, Secret, Target
from harness.targets.profile import PROMPTS_SCHEMA, load_prompt_library, load_target
from harness.targets.profile import SCHEMA as TARGET_SCHEMA

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]
WAVS = ["greeting", "digit_one", "digit_two", "agent_hello"]


def write_wav(path: Path) -> None:
    """A 10 ms silent 8 kHz mono WAV: enough for a file that must exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 80)


@pytest.fixture
def good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of tests/data/good with its WAV files, as the current directory."""
    copy = tmp_path / "good"
    shutil.copytree(DATA / "good", copy)
    for name in WAVS:
        write_wav(copy / "prompts" / f"{name}.wav")
    write_wav(copy / "sounds" / "hello.wav")
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def target(good: Path) -> Target:
    return load_target(Path("target.yaml"))


@pytest.fixture
def library(target: Target) -> PromptLibrary:
    assert target.prompts is not None
    return load_prompt_library(target.prompts)


def at(line: int, name: str = "full.scenario.yaml") -> Mark:
    return Mark(Path(name), line, 5)


def test_full_profile(good: Path, target: Target) -> None:
    assert (target.name, target.host, target.port, target.transport) == (
        "loopback",
        "127.0.0.1",
        5070,
        "tcp",
    )
    assert (target.domain, target.outbound_proxy, target.managed) == (
        "cc.example.org",
        "sip:127.0.0.1:5080;lr",
        "peer",
    )
    assert target.peer == Peer(0.2, "greeting", {"1": "digit_one", "2": "digit_two"})
    assert target.prompts == Path("prompts/prompts.yaml")
    assert (target.dtmf_method, target.codecs) == ("info", ("PCMA/8000", "PCMU/8000"))
    assert target.dids == {"main": "100", "sales": "0200x", "support": "300"}
    assert target.accounts["caller"] == Account(
        "caller", "1001", password=Secret("CC_CALLER_PASSWORD"), register=False
    )
    assert target.accounts["alice"] == Account(
        "alice",
        "2001",
        domain="example.org",
        auth_user="a2001",
        password=Secret("CC_ALICE_PASSWORD"),
    )
    assert target.accounts["agent5"] == Account("agent5", "2005")
    assert target.tls.ca_file == good / "certs" / "ca.pem"
    assert (target.tls.cert_file, target.tls.verify) == (None, False)
    assert target.adapter == {
        "type": "reference",
        "url": "http://127.0.0.1:8088",
        "username": "admin",
        "password": Secret("CC_API_PASSWORD"),
        "retries": 3,
        "store": {
            "access_token": Secret("CC_STORE_TOKEN"),
            "token_url": "http://127.0.0.1:8088/token",
        },
    }


def test_profile_defaults(good: Path) -> None:
    target = load_target(Path("minimal.target.yaml"))
    assert (target.port, target.transport, target.domain) == (
        5061,
        "tls",
        "pbx.example.org",
    )  # 5061: RFC 3261 for TLS
    assert (target.managed, target.peer, target.prompts, target.outbound_proxy) == (
        "none",
        None,
        None,
        None,
    )
    assert (dict(target.dids), dict(target.accounts), dict(target.adapter)) == ({}, {}, {})
    assert (target.dtmf_method, target.codecs) == ("rfc4733", ("PCMU/8000", "PCMA/8000"))


def test_secret_is_read_only_when_revealed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = Secret("CC_TEST_SECRET")
    monkeypatch.setenv("CC_TEST_SECRET", "s3cret")
    assert (secret.reveal(), str(secret)) == ("s3cret", "${ENV:CC_TEST_SECRET}")


def test_prompt_library(good: Path, library: PromptLibrary) -> None:
    assert sorted(library.prompts) == sorted(WAVS)
    hello = library.prompts["agent_hello"]
    assert (hello.file, hello.text, hello.lang) == (
        good / "prompts" / "agent_hello.wav",
        "您好，我是客服。",
        "zh",
    )
    assert (library.prompts["digit_one"].text, library.prompts["digit_one"].lang) == ("", "")


def test_minimal_scenario_defaults(target: Target, library: PromptLibrary) -> None:
    scenario = load_scenario(Path("minimal.scenario.yaml"), library, target)
    name = "minimal.scenario.yaml"
    assert scenario == Scenario(
        path=Path(name),
        name="a call is answered",
        description="",
        deadline=120.0,
        callers=(CallerSpec("caller", "caller"),),
        agents=(),
        steps=(
            CallStep("c1", "caller", Destination("user", "100"), (), at(3, name)),
            ExpectAnswerStep("c1", 5.0, at(4, name)),
            HangupStep("c1", at(5, name)),
        ),
        mark=Mark(Path(name), 1, 1),
    )


def test_full_scenario_header(target: Target, library: PromptLibrary) -> None:
    scenario = load_scenario(Path("full.scenario.yaml"), library, target)
    assert (scenario.licence_item, scenario.tags, scenario.deadline) == (
        "ivr",
        ("smoke", "menu"),
        90.0,
    )
    assert scenario.description == "Press 1 at the main menu; an agent in sales answers.\n"
    assert scenario.prompts is None  # the target's library: no override
    assert [(c.name, c.account) for c in scenario.callers] == [
        ("caller", "caller"),
        ("second", "second"),
    ]


def test_full_scenario_agents(target: Target, library: PromptLibrary) -> None:
    agents = {a.name: a for a in load_scenario(Path("full.scenario.yaml"), library, target).agents}
    assert [
        (a.account, a.behaviour, a.answer_after, a.reject_code, a.play) for a in agents.values()
    ] == [
        ("alice", "answer", 0.0, 486, None),
        ("bob", "reject", 0.0, 603, None),
        ("carol", "ring", 0.0, 486, None),
        ("agent5", "unregistered", 0.0, 486, None),
        ("alice", "answer", 1.5, 486, Audio(prompt="agent_hello", loop=True)),
    ]
    assert agents["erin"].mark == Mark(Path("full.scenario.yaml"), 15, 3)


def test_full_scenario_steps(good: Path, target: Target, library: PromptLibrary) -> None:
    steps = load_scenario(Path("full.scenario.yaml"), library, target).steps
    expected: list[Any] = [
        CallStep(
            "c1",
            "caller",
            Destination("did", "main"),
            (("X-Test-Case", "ivr-1"), ("X-Priority", "5")),
            at(17),
        ),
        ExpectAnswerStep("c1", 5.0, at(18)),
        ExpectPromptStep("c1", "greeting", 5.0, 0.7, at(19)),
        ExpectSilenceStep("c1", 0.5, -50.0, at(20)),
        SendDtmfStep("c1", "1", "info", at(21)),  # the target's dtmf_method
        SendDtmfStep("c1", "0*#D", "rfc4733", at(22)),
        ExpectAgentStep("c1", ("alice", "erin"), 120.0, at(23)),
        ExpectDtmfStep("12", 3.0, None, "alice", at(24)),
        ExpectDtmfStep("9", 3.0, "c1", None, at(25)),
        PlayStep("c1", Audio(tone=Tone((697.0, 1209.0), 1.0, -20.0)), False, at(26)),
        PlayStep("c1", Audio(tone=Tone((1000.0,), 0.25, -12.0), loop=True), True, at(27)),
        PlayStep("c1", Audio(file=good / "sounds" / "hello.wav"), True, at(28)),
        CallStep("direct", "second", Destination("agent", "carol"), (), at(29)),
        CallStep(
            "c3",
            "caller",
            Destination("uri", "sips:queue@cc.example.org;transport=tls"),
            (),
            at(30),
        ),
        WaitStep(2.0, at(31)),
        ExpectDtmfStep("A", 1.0, "c1", None, at(32)),
        HangupStep("direct", at(33)),
        ExpectHangupStep("c3", 10.0, 487, at(34)),
        HangupStep("c3", at(35)),
    ]
    assert list(steps) == expected


def test_scenario_library_overrides_the_targets(target: Target, library: PromptLibrary) -> None:
    scenario = load_scenario(Path("own_library.scenario.yaml"), library, target)
    assert scenario.prompts == Path("other/prompts.yaml")
    assert scenario.steps[1] == ExpectPromptStep(
        "c1", "bonjour", 5.0, mark=at(5, "own_library.scenario.yaml")
    )


def test_target_library_is_used_when_none_is_given(target: Target) -> None:
    scenario = load_scenario(Path("full.scenario.yaml"), None, target)
    assert scenario.steps[2] == ExpectPromptStep("c1", "greeting", 5.0, 0.7, at(19))


def test_loopback_prompt_library_fixture(tmp_path: Path) -> None:
    copy = tmp_path / "prompts.yaml"
    shutil.copy(ROOT / "fixtures" / "prompts" / "loopback" / "prompts.yaml", copy)
    for name in WAVS:
        write_wav(tmp_path / f"{name}.wav")
    library = load_prompt_library(copy)
    assert sorted(library.prompts) == sorted(WAVS)
    assert all(ref.file == tmp_path / f"{ref.id}.wav" for ref in library.prompts.values())


def test_discover(tmp_path: Path) -> None:
    for name in [
        "b.scenario.yaml",
        "a/x.scenario.yaml",
        "a/deep/y.scenario.yaml",
        ".hidden/z.scenario.yaml",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("name: x\n", encoding="utf-8")
    (tmp_path / "a" / "notes.yaml").write_text("x: 1\n", encoding="utf-8")
    single = tmp_path / "a" / "x.scenario.yaml"
    found = discover([tmp_path, single])
    assert found == [tmp_path / "a/deep/y.scenario.yaml", single, tmp_path / "b.scenario.yaml"]
    with pytest.raises(ScenarioError, match="no such file or folder"):
        discover([tmp_path / "missing"])


@pytest.mark.parametrize(
    "schema", [SCENARIO_SCHEMA, TARGET_SCHEMA, PROMPTS_SCHEMA], ids=lambda p: p.name
)
def test_every_schema_property_has_a_description(schema: Path) -> None:
    missing: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if "description" not in prop:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(load_schema(schema), "")  # load_schema also checks it against the 2020-12 metaschema
    assert missing == []
