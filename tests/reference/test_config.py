"""The reference platform's configuration loads into its model, and a bad one says what is wrong.

Also checks the reference prompts the configuration names: the right
format, small, each clearly different from every other, regenerable.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import correlate

from fixtures.reference.acd import QueueConfig
from fixtures.reference.config import (
    PROJECT_ROOT,
    ConfigError,
    Ending,
    MenuAction,
    PlayAction,
    QueueAction,
    RepeatAction,
    load_config,
)
from fixtures.reference.yamldoc import parse_duration

REFERENCE = PROJECT_ROOT / "fixtures" / "reference"
PROMPTS = REFERENCE / "prompts"
SPEECH = (
    "welcome", "main_menu", "service_menu", "invalid_option", "no_input", "goodbye",
    "opening_hours", "all_busy", "no_agents", "queue_position", "dialer_abandon",
    "deep_menu", "deep_two_menu", "deep_three_menu",
)  # fmt: skip


# -- the shipped file ---------------------------------------------------------------
def test_shipped_platform_loads_with_its_values() -> None:
    cfg = load_config()
    assert cfg.path == REFERENCE / "platform.yaml"
    assert (cfg.domain, cfg.sip_port) == ("127.0.0.1", 5160)
    assert (cfg.workers.count, cfg.workers.first_port, cfg.workers.rtp_base) == (3, 5170, 41000)
    assert [cfg.workers.sip_port(i) for i in range(3)] == [5170, 5171, 5172]
    assert cfg.workers.rtp_ports(2) == range(41200, 41300)
    assert (cfg.api.port, cfg.api.username) == (8188, "admin")
    assert cfg.callers == ("1001", "1002", "1003", "1004")
    assert cfg.agents == ("2001", "2002", "2003", "2004")
    assert cfg.dids == {
        "4000": "main", "4001": "direct_sales", "4002": "direct_support", "4101": "direct_linear",
        "4102": "direct_leastrecent", "4103": "direct_fewestcalls", "4104": "direct_random",
        "4105": "direct_seats", "4010": "deep",
    }
    assert {q: cfg.queues[q].acd.strategy for q in cfg.queues} == {
        "sales": "rrmemory", "support": "ringall", "linear": "linear", "leastrecent": "leastrecent",
        "fewestcalls": "fewestcalls", "random": "random", "seats": "linear",
    }
    assert cfg.recording_store == PROJECT_ROOT / "var" / "reference" / "recordings"
    assert cfg.retention_days == 190
    assert cfg.prompts_dir == PROMPTS
    assert set(cfg.prompts) == {*SPEECH, "hold_music"}
    assert cfg.prompts["welcome"] == PROMPTS / "welcome.wav"


def test_shipped_ivr_flows() -> None:
    flows = load_config().flows
    main, service, direct = flows["main"], flows["service"], flows["direct_sales"]
    assert (main.greeting, main.menu, main.digit_timeout, main.max_tries) == (
        "welcome", "main_menu", 5.0, 3
    )  # fmt: skip
    assert (main.invalid, main.no_input, main.end) == ("invalid_option", "no_input", "goodbye")
    assert main.keys == {
        "1": QueueAction("sales"),
        "2": QueueAction("support"),
        "3": MenuAction("service"),
        "9": PlayAction("opening_hours", "hangup"),
        "*": RepeatAction(),
    }
    assert main.direct is None
    assert (service.greeting, service.menu, service.max_tries) == (None, "service_menu", 2)
    assert service.keys == {"1": QueueAction("support"), "0": MenuAction("main")}
    assert (direct.menu, direct.keys, direct.direct) == (None, {}, QueueAction("sales"))


def test_shipped_queues() -> None:
    queues = load_config().queues
    assert queues["sales"].acd == QueueConfig(
        "sales", "rrmemory", ("2001", "2002", "2003"), ring_timeout=6.0, wrapup=0.0,
        max_wait=60.0, join_empty="refuse", announce_position_every=20.0,
    )  # fmt: skip
    assert queues["support"].acd == QueueConfig(
        "support", "ringall", ("2002", "2003", "2004"), ring_timeout=6.0, wrapup=0.0,
        max_wait=60.0, join_empty="refuse",
    )  # fmt: skip
    for spec in queues.values():
        assert spec.hold_music == "hold_music"
        assert spec.overflow == Ending("all_busy", "hangup")
        assert spec.empty == Ending("no_agents", "hangup")
    assert queues["sales"].position_prompt == "queue_position"
    assert queues["support"].position_prompt is None  # it announces nothing
    assert queues["sales"].name == "sales"


def test_overrides_move_ports_and_store(tmp_path: Path) -> None:
    cfg = load_config(
        overrides={
            "sip_port": 15160,
            "workers.first_port": 15170,
            "workers.rtp_base": 42000,
            "api.port": 18188,
            "recording.store": tmp_path / "rec",
        }
    )
    assert (cfg.sip_port, cfg.workers.first_port, cfg.workers.rtp_base) == (15160, 15170, 42000)
    assert (cfg.api.port, cfg.recording_store) == (18188, tmp_path / "rec")
    assert cfg.flows == load_config().flows


def test_an_override_that_clashes_is_reported_as_an_override() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"api.port": 5171})
    where = f"{REFERENCE / 'platform.yaml'} (override): api.port"
    assert caught.value.problems == (f"{where}: port 5171 of the API is also the port of worker 1",)


# -- a bad file: every problem, with file, line and YAML path ---------------------------
BAD = """\
domain: 127.0.0.1
sip:
  port: 5160
workers:
  count: 2
  first_port: 5160
  rtp_base: 41000
api:
  port: 8188
  username: admin
prompts: {prompts}
accounts:
  callers: ["1001"]
  agents: ["2001", "2002"]
dids:
  "4000": main
  "4009": nowhere
ivr:
  main:
    greeting: welcom
    menu: main_menu
    digit_timeout: 5 s
    max_tries: 0
    keys:
      "1": {{queue: sales}}
      "2": {{queue: helpdesk}}
      "3": {{menu: servce}}
      "4": {{play: goodbye, then: transfer}}
      "X": {{repeat: true}}
      "5": {{}}
  broken:
    keys: {{}}
queues:
  sales:
    strategy: roundrobin
    agents: ["2001", "2003"]
    ring_timeout: 6
    retry: 0s
    hold_music: hold_musik
    retires: 3
recording:
  store: var/rec
retention:
  days: 190
  days: 30
"""

KNOWN_PROMPTS = (
    "all_busy, deep_menu, deep_three_menu, deep_two_menu, dialer_abandon, goodbye, hold_music, "
    "invalid_option, main_menu, no_agents, no_input, "
    "opening_hours, queue_position, service_menu, welcome"
)
QUEUE_FIELDS = (
    "agents, announce_position_every, empty, hold_music, join_empty, leave_when_empty, "
    "max_len, max_wait, overflow, position_prompt, random_seed, retry, ring_in_use, "
    "ring_timeout, strategy, wrapup"
)
STRATEGIES = "fewestcalls, leastrecent, linear, random, ringall, rrmemory"
EXPECTED = [  # (text of the line, YAML path: what is wrong)
    ("first_port: 5160", "workers.first_port: port 5160 of worker 0 is also the port of the SIP front"),
    ('"4009": nowhere', "dids.4009: unknown IVR flow 'nowhere' (known: broken, main)"),
    ("greeting: welcom", f"ivr.main.greeting: unknown prompt 'welcom' (known: {KNOWN_PROMPTS})"),
    ("digit_timeout: 5 s", "ivr.main.digit_timeout: '5 s' is not a duration (like 5s, 500ms or 2m)"),
    ("max_tries: 0", "ivr.main.max_tries: must be 1..20, found 0"),
    ('"2": {queue', "ivr.main.keys.2.queue: unknown queue 'helpdesk' (known: sales)"),
    ('"3": {menu', "ivr.main.keys.3.menu: unknown IVR flow 'servce' (known: broken, main)"),
    ('"4": {play', "ivr.main.keys.4.then: must be 'hangup' (the only ending), found 'transfer'"),
    ('"X": {repeat', "ivr.main.keys.X: 'X' is not a DTMF key (one of 0123456789*#ABCD)"),
    ('"5": {}', "ivr.main.keys.5: needs exactly one of queue, menu, play, repeat, found none"),
    ("broken:", "ivr.broken: needs exactly one of 'menu' (with keys) or 'direct'"),
    ("strategy: roundrobin", f"queues.sales.strategy: unknown strategy 'roundrobin' (known: {STRATEGIES})"),
    ('agents: ["2001", "2003"]', "queues.sales.agents[1]: agent '2003' is not in accounts.agents (2001, 2002)"),
    ("ring_timeout: 6", "queues.sales.ring_timeout: 6 is not a duration (like 5s, 500ms or 2m)"),
    ("retry: 0s", "queues.sales.retry: must be longer than 0, found '0s'"),
    ("hold_music: hold_musik", f"queues.sales.hold_music: unknown prompt 'hold_musik' (known: {KNOWN_PROMPTS})"),
    ("retires: 3", f"queues.sales.retires: unknown field (known: {QUEUE_FIELDS})"),
    ("days: 30", "retention.days: duplicate key 'days'"),
]  # fmt: skip


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, snippet: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if snippet in line)


def test_a_bad_file_lists_every_problem_with_its_line_and_yaml_path(tmp_path: Path) -> None:
    text = BAD.format(prompts=PROMPTS)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    expected = [f"{path}:{line_of(text, snip)}: {what}" for snip, what in EXPECTED]
    assert list(caught.value.problems) == expected
    message = str(caught.value)
    assert message.startswith(f"{path}: {len(EXPECTED)} problems in the platform configuration")
    assert all(problem in message for problem in expected)


def test_missing_sections_and_a_missing_prompt_dir(tmp_path: Path) -> None:
    path = write(tmp_path, "domain: 127.0.0.1\nprompts: nowhere/\nsip: {port: 5160}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    missing = ["accounts", "api", "dids", "ivr", "queues", "recording", "retention", "workers"]
    assert problems[:8] == tuple(f"{path}:1: (top): missing {name!r}" for name in missing)
    assert f"{path}:2: prompts: no *.wav prompts in {tmp_path / 'nowhere'}" in problems


@pytest.mark.parametrize("text", ["a: [1, 2", "\tx: 1\n", "- just\n- a list\n"])
def test_not_a_platform_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert str(tmp_path / "platform.yaml") in caught.value.problems[0]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), ("0s", 0.0), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", 5, "5 s", "-1s", "s", "5sec", None, True])
def test_not_durations(text: object) -> None:
    assert parse_duration(text) is None


# -- the prompts ---------------------------------------------------------------------
def samples(path: Path) -> npt.NDArray[np.float64]:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), path
        raw = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return raw.astype(np.float64) / 32768.0


# 8 kHz 16-bit is 16 kB a second: the long menu texts and 8 s of hold music cannot
# fit in 120 kB, so they get what their length needs.
SIZE_LIMIT = {"main_menu": 256_000, "service_menu": 160_000, "hold_music": 130_000}


@pytest.mark.parametrize("name", [*SPEECH, "hold_music"])
def test_prompt_format_and_size(name: str) -> None:
    path = PROMPTS / f"{name}.wav"
    audio = samples(path)
    assert path.stat().st_size < SIZE_LIMIT.get(name, 120_000)
    shortest = 1.5 if name.startswith("deep_") else 3.0  # the second IVR's menus are short: a crawl of it is quick
    assert shortest < audio.size / 8000 < 16.0
    if name in SPEECH:  # normalised to -3 dBFS peak
        assert -3.5 < 20 * np.log10(np.max(np.abs(audio))) < -2.5


def test_hold_music_is_8_s_of_quiet_tones_not_speech() -> None:
    audio = samples(PROMPTS / "hold_music.wav")
    assert audio.size == 8 * 8000
    peak_dbfs = 20 * np.log10(np.max(np.abs(audio)))
    assert -18.5 < peak_dbfs < -17.5
    assert np.max(np.abs(audio[:8])) < 0.01  # fades in: no click at the start
    # each 0.4 s note is one sine: nearly all its energy in one narrow band
    for note in range(20):
        spectrum = np.abs(np.fft.rfft(audio[note * 3200 : (note + 1) * 3200])) ** 2
        peak = int(np.argmax(spectrum))
        assert spectrum[peak - 3 : peak + 4].sum() > 0.95 * spectrum.sum()


def peak_ncc(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """Best normalised cross-correlation of the shorter signal at any place in the longer."""
    long, short = (a, b) if a.size >= b.size else (b, a)
    products = correlate(long, short, mode="valid", method="fft")
    energy = np.concatenate(([0.0], np.cumsum(long * long)))
    windows = energy[short.size :] - energy[: -short.size]
    ncc = np.abs(products) / np.sqrt(float(short @ short) * np.maximum(windows, 1e-12))
    return float(np.max(ncc))


def test_every_pair_of_prompts_is_clearly_different() -> None:
    audio = {p.stem: samples(p) for p in sorted(PROMPTS.glob("*.wav"))}
    scores = {(a, b): peak_ncc(audio[a], audio[b]) for a, b in itertools.combinations(audio, 2)}
    assert len(scores) == 105
    assert max(scores.values()) < 0.6, max(scores.items(), key=lambda kv: kv[1])
    assert peak_ncc(audio["welcome"], audio["welcome"]) > 0.999  # the measure sees a match


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox"
)
def test_make_prompts_regenerates_the_committed_files(tmp_path: Path) -> None:
    script = tmp_path / "make_prompts.sh"
    shutil.copy(PROMPTS / "make_prompts.sh", script)
    subprocess.run(["sh", str(script)], check=True, capture_output=True, timeout=120)
    made = sorted(p.name for p in tmp_path.glob("*.wav"))
    assert made == sorted(p.name for p in PROMPTS.glob("*.wav"))
    for name in made:
        assert (tmp_path / name).read_bytes() == (PROMPTS / name).read_bytes(), name


# -- sized for a load (up --size-for CALLS --agents ...) ------------------------------------------
def test_sizing_for_a_load_adds_workers_past_the_trunk_port_and_puts_the_load_agents_in_every_queue(
) -> None:
    from fixtures.reference.sizing import sizing_overrides

    path = REFERENCE / "platform.yaml"
    base = load_config(path)
    assert (base.workers.count, base.workers.first_port, base.outbound.trunk_port) == (3, 5170, 5190)
    agents = tuple(f"20{n:02d}" for n in range(1, 13))
    sized = sizing_overrides(path, 40, agents, {})
    # 21 workers from 5170 would reach the trunk's 5190: they start after it.
    assert sized["workers.count"] == 21 and sized["workers.first_port"] == 5191
    config = load_config(path, sized)  # raises on any clash
    assert config.agents == agents
    assert {n: q.acd.agents for n, q in config.queues.items()} == {n: agents for n in config.queues}
    # A small load leaves the pool as it is; the bound is the config's own.
    assert "workers.count" not in sizing_overrides(path, 4, (), {})
    assert sizing_overrides(path, 1000, (), {})["workers.count"] == 64
    # Other overrides (a test's ports) are kept and sized around.
    moved = sizing_overrides(path, 10, (), {"workers.first_port": 7001, "sip_port": 7000})
    assert moved["workers.first_port"] == 7001 and moved["workers.count"] == 6
