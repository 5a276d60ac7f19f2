"""``ccharness prompts capture``: the prompts recorded from real calls are the prompts played.

Against the loopback peer (a copy of its profile on a free port), which plays
the committed prompts of ``fixtures/prompts/loopback``: what the capture
writes is compared with those originals (``find_prompt`` both ways, lengths),
with the other prompts (no match), and is then used as the library of a
``ccharness run``.  The command runs in-process through the command line, as
a user runs it; the scenarios are small ones written here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from harness.audio.impair import slip
from harness.audio.pcm import FloatArray
from harness.audio.prompt import find_prompt, match_prompt
from harness.audio.wav import read_capture, read_wav, write_wav
from harness.cli import main
from harness.prompts.cut import PAD_S, assess, excerpt, first_sound, sound_end
from harness.prompts.take import Source, Take, resolve
from harness.runner.platform import managed_platform
from harness.steps.expect_prompt import ExpectPromptStep
from harness.targets.profile import load_prompt_library, load_target
from tests.ports import free_udp_port

ROOT = Path(__file__).resolve().parents[2]
CCHARNESS = ROOT / ".venv" / "bin" / "ccharness"
LOOPBACK = ROOT / "fixtures" / "targets" / "loopback.yaml"
ORIGINALS = ROOT / "fixtures" / "prompts" / "loopback"
GREETING_AND_DTMF = ROOT / "fixtures" / "scenarios" / "loopback" / "greeting_and_dtmf.scenario.yaml"
PEER_PROMPTS = ("greeting", "digit_one", "digit_two")
RATE = 8000
# A capture is the prompt played when it scores this against the original: 0.97-1.00 on a quiet
# host, 0.93-0.95 with `stress --cpu 2` beside three test workers (the phone's jitter buffer
# slipped inside the take); other prompts stay below 0.7 (asserted below).
FAITHFUL = 0.9
HEARD = ExpectPromptStep.min_score  # what expect_prompt takes as heard (0.8)
SILENCE = np.zeros(RATE, dtype=np.float32)  # 1 s each side: a capture must be longer than its reference

HEAD = """name: {name}
deadline: 40s
steps:
  - call: {{to: "did:main"}}
  - expect_answer: {{within: 5s}}
  - expect_prompt: {{prompt: greeting, within: 5s}}
"""
GREETING = HEAD + "  - hangup\n"
ONE = HEAD + """  - send_dtmf: {{digits: "1", method: rfc4733}}
  - expect_prompt: {{prompt: digit_one, within: 5s}}
  - hangup
"""
TWO = HEAD + """  - send_dtmf: {{digits: "2", method: info}}
  - expect_prompt: {{prompt: digit_two, within: 5s}}
  - hangup
"""
IGNORED_KEY = HEAD + """  - send_dtmf: {{digits: "9"}}
  - expect_prompt: {{prompt: digit_nine, within: 3s}}
  - hangup
"""




def loopback(folder: Path, port: int, prompts: Path = ORIGINALS / "prompts.yaml", **changes: Any) -> Path:
    """fixtures/targets/loopback.yaml on ``port``, with ``prompts`` as its library."""
    spec = yaml.safe_load(LOOPBACK.read_text(encoding="utf-8"))
    spec["platform"]["port"] = port
    spec["prompts"] = str(prompts)
    spec.update(changes)
    if spec.get("managed") == "none":
        spec.pop("peer")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "target.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def scenarios(folder: Path, **texts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.scenario.yaml").write_text(text.format(name=name), encoding="utf-8")
    return folder


def capture(capsys: pytest.CaptureFixture[str], profile: Path, *args: str) -> tuple[int, str]:
    code = main(["prompts", "capture", "--target", str(profile), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def original(name: str) -> FloatArray:
    return read_wav(ORIGINALS / f"{name}.wav")[0]


def padded(x: FloatArray) -> FloatArray:
    return np.concatenate([SILENCE, x, SILENCE])


def sounding(x: FloatArray) -> float:
    """Seconds from the first to the last sample above -50 dBFS: the non-silent part, to the sample."""
    loud = np.flatnonzero(np.abs(x) > 10 ** (-50 / 20))
    return float(loud[-1] - loud[0] + 1) / RATE


SLIP_WARNING = re.compile(r"cannot vouch for its length: .*?; capture it again on a quieter host")
SLIPPED = re.compile(r"cannot vouch for its length: the phone's jitter buffer threw away or lost ([0-9.]+)s "
                     r"and made up ([0-9.]+)s")


def slipped(output: str, name: str) -> float:
    """Seconds of ``name``'s audio that the capture says its phone's jitter buffer threw away or
    made up (a phone or host that fell behind: the cut is that much shorter or longer); 0 if none."""
    said = [m for line in output.splitlines() if line.startswith(f"{name} ") and (m := SLIPPED.search(line))]
    return max((float(m[1]) + float(m[2]) for m in said), default=0.0)


def faithful(output: str, name: str) -> float:
    """The score ``name``'s take must reach against the original: FAITHFUL, or, where the capture
    warned that its jitter buffer slipped inside it, expect_prompt's own bar (HEARD). A 0.03 s slip
    under stress scored 0.897; such a take is still the prompt, and no other (asserted apart)."""
    return FAITHFUL if slipped(output, name) == 0 else HEARD


def same_length(output: str, name: str, mine: FloatArray, theirs: FloatArray) -> bool:
    """The cut is as long as the sound played, to 0.1 s and what the capture says slipped."""
    return abs(mine.size / RATE - sounding(theirs)) <= 0.1 + slipped(output, name)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- the audio, on synthetic signals ----------------------------------------------------------

def noise_prompt(seconds: float, seed: int) -> FloatArray:
    """Speech-like for the matcher: band-limited noise, 0.3 s pause in the middle."""
    rng = np.random.default_rng(seed)
    x = np.convolve(rng.normal(0, 0.1, int(seconds * RATE)), np.ones(4) / 4, "same").astype(np.float32)
    mid = x.size // 2
    x[mid: mid + int(0.3 * RATE)] = 0
    return x


def test_a_prompt_ends_at_the_first_pause_of_end_silence() -> None:
    prompt = noise_prompt(2.0, 1)  # a 0.3 s pause inside
    capture = np.concatenate([np.zeros(RATE // 2, np.float32), prompt, np.zeros(RATE * 2, np.float32)])
    start = first_sound(capture, 0.0)
    assert start is not None and abs(start - 0.5) <= 0.02
    assert first_sound(capture, 3.0) is None
    end = sound_end(capture, start, 1.0)
    assert end is not None and abs(end - 2.5) <= 0.02  # the inner pause does not end it
    inner = sound_end(capture, start, 0.2)
    assert inner is not None and abs(inner - 1.5) <= 0.02  # a shorter end silence stops at the pause
    assert sound_end(capture[: int(2.8 * RATE)], start, 1.0) is None  # the pause not yet whole
    cut = excerpt(capture, start, end)
    assert abs(cut.size / RATE - (2.0 + 2 * PAD_S)) <= 0.02
    assert abs(cut[0]) < 1e-6 and abs(cut[-1]) < 1e-6  # faded


def test_levels_quiet_clipped_and_short_are_warned() -> None:
    speech = noise_prompt(2.0, 2)
    assert assess(speech * 3).warnings == ()
    assert "quiet" in assess(speech * 0.05).warnings[0]
    assert "clipped" in assess(np.clip(speech * 30, -0.98, 0.98)).warnings[0]
    assert "short" in assess(speech[:800] * 3).warnings[0]


def test_prompts_played_back_to_back_are_told_apart_once_one_is_known() -> None:
    welcome, menu = noise_prompt(2.0, 3), noise_prompt(1.5, 4)
    both = np.concatenate([welcome, np.zeros(int(0.2 * RATE), np.float32), menu])
    src = Source(Path("s.scenario.yaml"), 3, 7, "did main (100)", "", "cid", 0.0)
    merged = Take("welcome", both, src, followers=[("menu", src)])
    assert resolve([merged], ["welcome", "menu"]) == {}  # neither known alone: cannot be cut
    menu_alone = Take("menu", excerpt(padded(menu), 1.0, 2.5), src)
    found = resolve([merged, menu_alone], ["welcome", "menu"])
    cut = found["welcome"].audio
    assert "cut from welcome+menu" in found["welcome"].note
    assert abs(cut.size / RATE - (2.0 + 2 * PAD_S)) <= 0.05
    assert find_prompt(padded(welcome), cut) is not None
    assert find_prompt(padded(menu), cut) is None
    # A pause too short to tell from "no menu at all": the known menu is not in the take.
    quiet_after = Take("welcome", excerpt(padded(welcome), 1.0, 3.0), src, followers=[("menu", src)])
    alone = resolve([quiet_after, menu_alone], ["welcome"])["welcome"]
    assert alone.note == "menu, expected next, is not in it"
    assert abs(alone.audio.size / RATE - (2.0 + 2 * PAD_S)) <= 0.05


def test_a_known_prompt_stretched_by_the_jitter_buffer_is_cut_where_it_ends_in_the_take() -> None:
    """A busy host's phone made up 0.1 s inside the welcome: the cut follows the welcome's end
    as heard (the match's end), not the reference's length from its start (0.1 s too early,
    which left the welcome's last syllable in the menu)."""
    welcome, menu = noise_prompt(4.0, 5), noise_prompt(3.0, 6)
    heard = slip(welcome, 2.0, 0.1)  # 0.1 s of silence inserted 2 s in, the rest played later
    both = np.concatenate([heard, np.zeros(int(0.16 * RATE), np.float32), menu])
    src = Source(Path("s.scenario.yaml"), 3, 7, "did main (100)", "", "cid", 0.0)
    merged = Take("welcome", both, src, followers=[("menu", src)])
    welcome_alone = Take("welcome", excerpt(padded(welcome), 1.0, 5.0), src)
    cut = resolve([merged, welcome_alone], ["menu"])["menu"].audio
    assert abs(cut.size / RATE - (3.0 + 2 * PAD_S)) <= 0.05, cut.size / RATE
    found = find_prompt(padded(menu), cut)
    assert found is not None and found.score >= 0.9, found


# -- bad input, refused before any call -------------------------------------------------------

def test_an_unknown_did_or_an_occupied_folder_is_refused_before_any_call(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = loopback(tmp_path, free_udp_port())
    bad = scenarios(tmp_path / "bad", wrong=GREETING.replace("did:main", "did:sales"))
    code, out = capture(capsys, profile, str(bad), "--out", str(tmp_path / "out"))
    assert code == 2
    assert f"{bad / 'wrong.scenario.yaml'}:4:" in out and "sales" in out and "main" in out
    assert not (tmp_path / "out").exists()

    out_dir = tmp_path / "occupied"
    out_dir.mkdir()
    (out_dir / "greeting.wav").write_bytes(b"mine")
    good = scenarios(tmp_path / "good", greeting=GREETING)
    code, out = capture(capsys, profile, str(good), "--out", str(out_dir))
    assert code == 2 and "greeting.wav" in out and "--force" in out
    assert files(out_dir) == {"greeting.wav": b"mine"}

    code, out = capture(capsys, profile, str(good), "--out", str(out_dir), "--only", "menu")
    assert code == 2 and "no prompt to capture among --only menu" in out


# -- on real calls to the loopback peer -------------------------------------------------------

@dataclass(frozen=True)
class Captured:
    code: int
    output: str
    out: Path
    port: int


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    """greeting, digit_one and digit_two captured from three small scenarios."""
    base = tmp_path_factory.mktemp("capture")
    port = free_udp_port()
    profile = loopback(base, port)
    folder = scenarios(base / "scenarios", a_greeting=GREETING, b_one=ONE, c_two=TWO)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = main(["prompts", "capture", "--target", str(profile), str(folder),
                     "--out", str(base / "library")])
    yield Captured(code, buffer.getvalue(), base / "library", port)


@pytest.mark.sip
def test_each_captured_prompt_is_the_prompt_played_and_no_other(captured: Captured) -> None:
    assert captured.code == 0, captured.output
    for name in PEER_PROMPTS:
        heard = read_wav(captured.out / f"{name}.wav", rate=None)
        assert heard[1] == RATE and heard[0].ndim == 1
        mine, theirs = heard[0], original(name)
        forward, backward = find_prompt(padded(theirs), mine), find_prompt(padded(mine), theirs)
        assert forward is not None and forward.score >= faithful(captured.output, name), (name, forward)
        assert backward is not None and backward.score >= faithful(captured.output, name), (name, backward)
        assert same_length(captured.output, name, mine, theirs), (name, mine.size / RATE, sounding(theirs))
        for other in PEER_PROMPTS:
            if other != name:
                assert find_prompt(padded(original(other)), mine) is None, (name, other)
                assert find_prompt(padded(mine), original(other)) is None, (name, other)
                assert match_prompt(padded(original(other)), mine).score < 0.7


@pytest.mark.sip
def test_the_library_written_says_what_each_prompt_is_and_where_it_was_heard(captured: Captured) -> None:
    assert captured.code == 0, captured.output
    library = load_prompt_library(captured.out / "prompts.yaml")
    assert sorted(library.prompts) == sorted(PEER_PROMPTS)
    originals = load_prompt_library(ORIGINALS / "prompts.yaml")
    text = (captured.out / "prompts.yaml").read_text(encoding="utf-8")
    for name in PEER_PROMPTS:
        assert library.prompts[name].file == (captured.out / f"{name}.wav").resolve()
        assert library.prompts[name].text == originals.prompts[name].text
    assert "target loopback" in text
    assert "# heard on did main (100), keys 1, Call-ID " in text  # digit_one
    assert "# heard on did main (100), keys 2, Call-ID " in text  # digit_two
    assert "b_one.scenario.yaml:8 (step 5)" in text
    assert sorted(p.name for p in captured.out.iterdir()) == ["digit_one.wav", "digit_two.wav",
                                                              "greeting.wav", "prompts.yaml"]
    table = captured.output.splitlines()
    row = next(line for line in table if line.startswith("digit_one "))
    assert "did main (100), keys 1" in row and "dBFS" in row
    # ok, or warned only that its jitter buffer slipped (a busy host): that warning holds a ';'
    assert " ok" in row or (slipped(captured.output, "digit_one")
                            and SLIP_WARNING.sub("", row).count(";") == 0), row


@pytest.mark.sip
def test_a_run_matching_against_the_captured_library_passes(captured: Captured, tmp_path: Path) -> None:
    """The peer plays the originals; the run's profile names the captured library."""
    assert captured.code == 0, captured.output
    port = free_udp_port()
    peer = load_target(loopback(tmp_path / "peer", port))
    mine = loopback(tmp_path / "mine", port, prompts=captured.out / "prompts.yaml", managed="none")
    with managed_platform(peer, load_prompt_library(ORIGINALS / "prompts.yaml"), tmp_path / "peer-work"):
        done = subprocess.run(
            [str(CCHARNESS), "run", "--target", str(mine), str(GREETING_AND_DTMF),
             "--reports", str(tmp_path / "reports"), "--run-id", "r1"],
            cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"}, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


@pytest.mark.sip
def test_a_prompt_never_played_is_reported_and_nothing_is_left_half_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = loopback(tmp_path, free_udp_port())
    folder = scenarios(tmp_path / "scenarios", ignored=IGNORED_KEY)
    out = tmp_path / "library"
    out.mkdir()
    write_wav(out / "digit_nine.wav", original("digit_two"))  # a library the user made before
    (out / "prompts.yaml").write_text("prompts:\n  digit_nine: {file: digit_nine.wav, text: Nine}\n")
    before = files(out)

    code, output = capture(capsys, profile, str(folder), "--out", str(out))
    assert code == 2 and "--force" in output
    assert files(out) == before

    code, output = capture(capsys, profile, str(folder), "--out", str(out), "--force")
    assert code == 1, output
    reason = next(line for line in output.splitlines() if line.startswith("  digit_nine: "))
    assert f"{folder / 'ignored.scenario.yaml'}:8 step 5 (expect_prompt)" in reason
    assert "was not heard on did main (100), keys 9" in reason
    assert "no sound" in reason and "after keys '9' were sent" in reason
    assert "not captured (1):" in output
    after = files(out)
    assert sorted(after) == ["digit_nine.wav", "greeting.wav", "prompts.yaml"]  # no temporary files
    assert after["digit_nine.wav"] == before["digit_nine.wav"]  # the old take is untouched
    library = load_prompt_library(out / "prompts.yaml")
    assert sorted(library.prompts) == ["digit_nine", "greeting"]
    assert library.prompts["digit_nine"].text == "Nine"  # kept from before
    assert find_prompt(padded(original("greeting")), read_wav(out / "greeting.wav")[0]) is not None


@pytest.mark.sip
def test_prompts_played_without_a_pause_are_cut_apart_on_real_calls(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The peer's greeting here is the greeting and digit_one with 0.3 s between, as an IVR plays
    welcome and menu; digit_one is also heard alone after key 1, so the greeting can be cut out."""
    peer_prompts = tmp_path / "peer-prompts"
    peer_prompts.mkdir()
    gap = np.zeros(int(0.3 * RATE), np.float32)
    write_wav(peer_prompts / "both.wav", np.concatenate([original("greeting"), gap, original("digit_one")]))
    (peer_prompts / "prompts.yaml").write_text(
        f"prompts:\n  greeting: {{file: both.wav}}\n"
        f"  digit_one: {{file: {ORIGINALS / 'digit_one.wav'}}}\n"
        f"  digit_two: {{file: {ORIGINALS / 'digit_two.wav'}}}\n")
    profile = loopback(tmp_path, free_udp_port(), prompts=peer_prompts / "prompts.yaml")
    folder = scenarios(tmp_path / "scenarios", menu=HEAD + """  - expect_prompt: {{prompt: digit_one, within: 2s}}
  - send_dtmf: {{digits: "1"}}
  - expect_prompt: {{prompt: digit_one, within: 5s}}
  - hangup
""")
    code, output = capture(capsys, profile, str(folder), "--out", str(tmp_path / "out"))
    assert code == 0, output
    greeting = read_wav(tmp_path / "out" / "greeting.wav")[0]
    assert same_length(output, "greeting", greeting, original("greeting")), (greeting.size / RATE, output)
    assert find_prompt(padded(original("greeting")), greeting) is not None
    assert find_prompt(padded(original("digit_one")), greeting) is None
    one = read_wav(tmp_path / "out" / "digit_one.wav")[0]
    assert find_prompt(padded(original("digit_one")), one) is not None
    row = next(line for line in output.splitlines() if line.startswith("greeting "))
    assert "cut from greeting+digit_one" in row


@pytest.mark.sip
def test_capture_only_listens_a_silence_check_that_would_fail_does_not_stop_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The peer plays its greeting at once, so this expect_silence would fail in a run; a capture
    only waits out its second and then takes the greeting whole, from where the call began."""
    profile = loopback(tmp_path, free_udp_port())
    folder = scenarios(tmp_path / "scenarios", quiet="""name: {name}
deadline: 40s
steps:
  - call: {{to: "did:main"}}
  - expect_answer: {{within: 5s}}
  - expect_silence: {{duration: 1s}}
  - expect_prompt: {{prompt: greeting, within: 5s}}
  - expect_hangup: {{within: 1s, status: 486}}
""")
    code, output = capture(capsys, profile, str(folder), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "expect_silence failed" not in output
    mine, theirs = read_wav(tmp_path / "out" / "greeting.wav")[0], original("greeting")
    found = find_prompt(padded(theirs), mine)
    assert found is not None and found.score >= faithful(output, "greeting"), (found, output)
    assert same_length(output, "greeting", mine, theirs), (mine.size / RATE, output)


@pytest.mark.sip
def test_a_prompt_heard_while_the_phone_did_not_run_is_not_vouched_for(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The caller's phone is stopped for 0.8 s while the greeting plays: its jitter buffer cannot
    hold that, so the cut's length says nothing; the capture says so, in its table and its library."""
    profile = loopback(tmp_path, free_udp_port())
    folder = scenarios(tmp_path / "scenarios", greeting=GREETING)
    work = tmp_path / "work"
    stopped: list[int] = []
    stopper = threading.Thread(target=stop_the_caller, args=(work, stopped), daemon=True)
    stopper.start()
    code, output = capture(capsys, profile, str(folder), "--out", str(tmp_path / "out"), "--work", str(work))
    stopper.join(timeout=STOP_LIMIT)
    assert stopped, f"the caller's phone was never stopped (no call audio under {work})\n{output}"
    assert code == 0, output
    row = next(line for line in output.splitlines() if line.startswith("greeting "))
    assert "WARN cannot vouch for its length" in row and slipped(output, "greeting") >= 0.1, output
    mine = read_wav(tmp_path / "out" / "greeting.wav")[0]
    assert same_length(output, "greeting", mine, original("greeting")), (mine.size / RATE, output)
    assert "cannot vouch for its length" in (tmp_path / "out" / "prompts.yaml").read_text(encoding="utf-8")


STOP_LIMIT = 30.0  # seconds for the capture's call to carry audio


def stop_the_caller(work: Path, stopped: list[int]) -> None:
    """Once the caller's capture under ``work`` holds 1.5 s of the greeting (from its first
    sound), stop this process's caller phone for 0.8 s: inside the 6.2 s greeting."""
    deadline = time.monotonic() + STOP_LIMIT
    while time.monotonic() < deadline:
        if any(heard_since_first_sound(read_capture(f)) >= 1.5 for f in work.rglob("caller*.wav")):
            for pid in caller_phones():
                os.kill(pid, signal.SIGSTOP)
                time.sleep(0.8)
                os.kill(pid, signal.SIGCONT)
                stopped.append(pid)
            return
        time.sleep(0.05)


def heard_since_first_sound(samples: FloatArray) -> float:
    """Seconds of a capture from its first sound (as the capture itself finds it) on."""
    start = first_sound(samples, 0.0)
    return 0.0 if start is None else samples.size / RATE - start


def caller_phones() -> list[int]:
    """This process's child phones whose name begins with 'caller'."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(stat[1]) == os.getpid() and b"harness.sip.phone" in args and b"--name" in args:
            name = args[args.index(b"--name") + 1] if args.index(b"--name") + 1 < len(args) else b""
            if name.startswith(b"caller"):
                found.append(int(proc.name))
    return found
