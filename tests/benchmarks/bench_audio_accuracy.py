"""Accuracy of the audio analysis on a synthetic degraded corpus: prints tables.

    .venv/bin/python tests/benchmarks/bench_audio_accuracy.py [--trials 10] [--captures 2]
        [--calls 40]

Four parts, each with a fixed seed so that the output is reproducible (about
two and a half minutes on two cores; prompt matching runs in a two-process pool):

1. DTMF over the ITU-T Q.24 receiver cases, side by side: the harness
   (``harness.audio.dtmf``, spandsp) and Debian's ``multimon-ng -a DTMF`` on
   the same WAV files (multimon-ng reads 22050 Hz signed 16-bit raw, made from
   each WAV with scipy's polyphase resampler). Each case is 16 keys x N trials
   in random order. "found" is the number of sent keys reported in order (the
   longest common subsequence of sent and reported), "extra" every other
   report. False digits are counted on the committed speech prompts and the
   hold music. Without ``multimon-ng`` its columns read "n/a".
2. Prompt matching (``find_prompt``) of every committed reference prompt,
   embedded at a random offset between other prompts, under each degradation;
   and false matches of the prompts that are not in the capture.
3. Per-call markers of both parties in a recording with speech over them,
   after G.711 and a gain change; and false markers of other calls.
4. Speed: seconds of audio analysed per second of one CPU.

It is not a pytest test (``tests/benchmarks`` is in ``norecursedirs``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from inspect import signature
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.audio import g711, impair, marker
from harness.audio.dtmf import detect_dtmf
from harness.audio.pcm import FloatArray, resample, rms_dbfs, to_int16
from harness.audio.prompt import MIN_COVERAGE, PromptMatch, find_prompt, match_prompt
from harness.audio.tone import DTMF_FREQUENCIES, dual_tone, silence
from harness.audio.wav import read_wav, write_wav

RATE = 8000
MULTIMON_RATE = 22050  # multimon-ng's DTMF demodulator runs at this rate only
KEYS = "123A456B789C*0#D"
DBM0_DBFS = -3.14
"""0 dBm0 in dBFS (sine peak re full scale): G.711 full scale is +3.14 dBm0 (A-law; µ-law
+3.17), the value spandsp's DBM0_MAX_SINE_POWER uses."""
NOMINAL_DBM0 = -10.0  # per frequency, unless a case says otherwise
PROMPT_DIRS = (ROOT / "fixtures/prompts/loopback", ROOT / "fixtures/reference/prompts")
MIN_SCORE: float = signature(find_prompt).parameters["min_score"].default
SEEDS = {"dtmf": 24, "prompt": 1_500, "marker": 35, "speed": 8}


def dbfs(level_dbm0: float) -> float:
    """dBFS (sine peak) of a sine at ``level_dbm0``."""
    return level_dbm0 + DBM0_DBFS


def table(rows: list[list[str]], header: list[str]) -> None:
    """Print ``rows`` under ``header``: first column left-aligned, others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        print("  ".join(cells).rstrip())
    print()


# --------------------------------------------------------------------- corpus inputs


@lru_cache(maxsize=1)
def prompts() -> dict[str, FloatArray]:
    """The committed prompts (loopback and reference platform) by file stem, loaded once.

    Once per process: the prompt pool's workers load their own.
    """
    return {p.stem: read_wav(p)[0] for d in PROMPT_DIRS for p in sorted(d.glob("*.wav"))}


def codec(x: FloatArray, name: str) -> FloatArray:
    """``x`` through ``name``: 'linear' (16-bit PCM), 'ulaw' or 'alaw'."""
    if name == "ulaw":
        return g711.ulaw_roundtrip(x)
    if name == "alaw":
        return g711.alaw_roundtrip(x)
    return x


def through_file(x: FloatArray, path: Path) -> FloatArray:
    """Write ``x`` as a 16-bit WAV file and read it back: the corpus lives on disk."""
    write_wav(path, x, RATE)
    return read_wav(path)[0]


# --------------------------------------------------------------------- 1. DTMF


@dataclass(frozen=True)
class DtmfCase:
    """One Q.24 receiver case: how the tones are made and what a receiver must do."""

    group: str
    label: str
    expect: str  # "accept", "reject", or "-" (informative: Q.24 sets nothing here)
    offset: float = 0.0  # relative frequency error of both tones
    on_s: float = 0.100
    level_dbm0: float = NOMINAL_DBM0  # of the low-group tone
    twist_db: float = 0.0  # high-group level minus low-group level
    codec: str = "linear"


def dtmf_cases() -> list[DtmfCase]:
    """The Q.24 cases, in the order printed."""
    info = "-"
    return [
        DtmfCase("reference", "nominal: 100 ms, -10 dBm0 each", "accept"),
        DtmfCase("frequency", "both tones +1.5 %", "accept", offset=0.015),
        DtmfCase("frequency", "both tones -1.5 %", "accept", offset=-0.015),
        DtmfCase("frequency", "both tones +3.5 %", "reject", offset=0.035),
        DtmfCase("frequency", "both tones -3.5 %", "reject", offset=-0.035),
        DtmfCase("frequency", "both tones +1.0 %", info, offset=0.010),
        DtmfCase("frequency", "both tones -1.0 %", info, offset=-0.010),
        DtmfCase("duration", "40 ms", "accept", on_s=0.040),
        DtmfCase("duration", "23 ms", "reject", on_s=0.023),
        DtmfCase("twist", "+4 dB (high above low)", "accept", twist_db=4.0),
        DtmfCase("twist", "-8 dB (high below low)", "accept", twist_db=-8.0),
        DtmfCase("twist", "-4 dB (high below low)", "accept", twist_db=-4.0),
        DtmfCase("twist", "+3 dB (1 dB inside)", info, twist_db=3.0),
        DtmfCase("twist", "-7 dB (1 dB inside)", info, twist_db=-7.0),
        DtmfCase("twist", "+6 dB (beyond)", "reject", twist_db=6.0),
        DtmfCase("twist", "+8 dB (beyond; the mirror reading)", "reject", twist_db=8.0),
        DtmfCase("twist", "-11 dB (beyond)", "reject", twist_db=-11.0),
        DtmfCase("level", "-20 dBm0 each", "accept", level_dbm0=-20.0),
        DtmfCase("level", "-25 dBm0 each", "accept", level_dbm0=-25.0),
        DtmfCase("level", "-35 dBm0 each", info, level_dbm0=-35.0),
        DtmfCase("level", "-50 dBm0 each", info, level_dbm0=-50.0),
        DtmfCase("G.711", "mu-law, -10 dBm0", "accept", codec="ulaw"),
        DtmfCase("G.711", "A-law, -10 dBm0", "accept", codec="alaw"),
        DtmfCase("G.711", "mu-law, -25 dBm0", "accept", level_dbm0=-25.0, codec="ulaw"),
        DtmfCase("G.711", "A-law, -25 dBm0", "accept", level_dbm0=-25.0, codec="alaw"),
        DtmfCase("G.711", "mu-law, 40 ms, 1.5 %, -25 dBm0", "accept", offset=0.015,
                 on_s=0.040, level_dbm0=-25.0, codec="ulaw"),
    ]


def dtmf_signal(case: DtmfCase, keys: str, rng: np.random.Generator) -> FloatArray:
    """The keys as tones with 100-113 ms pauses (the jitter moves tones across detector blocks)."""
    parts = []
    for key in keys:
        low, high = DTMF_FREQUENCIES[key]
        parts.append(silence(0.100 + rng.uniform(0.0, 0.013)))
        parts.append(dual_tone(low * (1 + case.offset), high * (1 + case.offset), case.on_s,
                               dbfs(case.level_dbm0), twist_db=case.twist_db))
    parts.append(silence(0.300))
    return codec(np.concatenate(parts), case.codec)


def spandsp_digits(path: Path) -> str:
    """Digits the harness reports for a WAV file."""
    return "".join(hit.digit for hit in detect_dtmf(read_wav(path)[0]))


def multimon_digits(path: Path) -> str | None:
    """Digits ``multimon-ng -a DTMF`` reports for a WAV file; ``None`` if it is not installed."""
    binary = shutil.which("multimon-ng")
    if binary is None:
        return None
    raw = path.with_suffix(".22050.raw")
    to_int16(resample(read_wav(path)[0], RATE, MULTIMON_RATE)).astype("<i2").tofile(raw)
    out = subprocess.run([binary, "-q", "-a", "DTMF", "-t", "raw", str(raw)],
                         capture_output=True, text=True, check=True).stdout
    return "".join(line.split(":", 1)[1].strip() for line in out.splitlines()
                   if line.startswith("DTMF:"))


def common(sent: str, heard: str) -> int:
    """Length of the longest common subsequence: sent keys reported, in order."""
    row = [0] * (len(heard) + 1)
    for a in sent:
        diagonal = 0
        for j, b in enumerate(heard, 1):
            diagonal, row[j] = row[j], diagonal + 1 if a == b else max(row[j], row[j - 1])
    return row[-1]


@dataclass(frozen=True)
class Score:
    """A detector on one case: keys sent, of them reported in order, other reports."""

    sent: int
    found: int
    extra: int

    def meets(self, expect: str) -> str:
        if expect == "accept":
            return "yes" if self.found == self.sent and self.extra == 0 else "NO"
        if expect == "reject":
            return "yes" if self.found + self.extra == 0 else "NO"
        return ""


def score(sent: str, heard: str | None) -> Score | None:
    if heard is None:
        return None
    found = common(sent, heard)
    return Score(len(sent), found, len(heard) - found)


def cells(result: Score | None, expect: str) -> list[str]:
    if result is None:
        return ["n/a", "n/a", ""]
    rate = f"{result.found}/{result.sent}" if result.sent else "-"
    return [rate, str(result.extra), result.meets(expect)]


def bench_dtmf(workdir: Path, trials: int) -> None:
    rng = np.random.default_rng(SEEDS["dtmf"])
    rows = []
    for index, case in enumerate(dtmf_cases()):
        sent = "".join("".join(rng.permutation(list(KEYS))) for _ in range(trials))
        path = workdir / f"dtmf_{index:02d}.wav"
        write_wav(path, dtmf_signal(case, sent, rng), RATE)
        expect = case.expect if case.expect != "-" else "(info)"
        rows.append([f"{case.group}: {case.label}", expect,
                     *cells(score(sent, spandsp_digits(path)), case.expect),
                     *cells(score(sent, multimon_digits(path)), case.expect)])
    rows.extend(false_digit_rows(workdir))
    print(f"## 1. DTMF, ITU-T Q.24 receiver cases: 16 keys x {trials} trials per case")
    print(dtmf_notes())
    table(rows, ["case", "expect", "harness found", "extra", "ok",
                 "multimon-ng found", "extra", "ok"])


def dtmf_notes() -> str:
    missing = "" if shutil.which("multimon-ng") else (
        "  multimon-ng is not installed: its columns read n/a "
        "(apt-get install multimon-ng to fill them).\n")
    return (
        f"  Levels per tone: 0 dBm0 = {DBM0_DBFS} dBFS (sine peak re full scale, G.711 mu-law/"
        f"A-law),\n  so the nominal {NOMINAL_DBM0:g} dBm0 = {dbfs(NOMINAL_DBM0):.2f} dBFS and "
        f"-25 dBm0 = {dbfs(-25):.2f} dBFS.\n"
        "  Twist = high-group level minus low-group level (low group at the case's level).\n"
        "  Q.24's limits (AT&T column): 'normal' twist 8 dB, 'reverse' twist 4 dB. 'Normal' is\n"
        "  the high group *below* the low one, as line loss leaves it (spandsp's and Asterisk's\n"
        "  DTMF_NORMAL_TWIST / DTMF_REVERSE_TWIST read it so): accept -8 dB to +4 dB. +8 dB is\n"
        "  the mirror reading (high 8 dB above). Q.24 sets no rejection beyond the limits:\n"
        "  'reject' there is what a receiver set at the limits does, not a requirement.\n"
        "  (info) rows have no Q.24 requirement; they show where a detector's edge lies.\n"
        "  Pauses 100-113 ms. found = sent keys reported in order; extra = all other reports;\n"
        "  ok = all found and no extra (accept) or nothing reported (reject).\n" + missing
    )


def false_digit_rows(workdir: Path) -> list[list[str]]:
    """Digits reported on speech and hold music, which contain none."""
    library = prompts()
    speech = np.concatenate([x for name, x in library.items() if name != "hold_music"])
    music = np.tile(library["hold_music"], 4)
    rows: list[list[str]] = []
    for label, x, chain in [
        ("speech, 16-bit linear", speech, "linear"),
        ("speech, mu-law, +6 dB", impair.gain(speech, 6.0), "ulaw"),
        ("speech, A-law, -6 dB", impair.gain(speech, -6.0), "alaw"),
        ("hold music x4, 16-bit linear", music, "linear"),
        ("hold music x4, mu-law, +6 dB", impair.gain(music, 6.0), "ulaw"),
    ]:
        path = workdir / f"speech_{len(rows)}.wav"
        write_wav(path, codec(x, chain), RATE)
        minutes = f"{x.size / RATE / 60:.1f} min"
        rows.append([f"false digits: {label} ({minutes})", "none",
                     *cells(score("", spandsp_digits(path)), "reject"),
                     *cells(score("", multimon_digits(path)), "reject")])
    return rows


# --------------------------------------------------------------------- 2. prompts


@dataclass(frozen=True)
class Capture:
    """A synthetic capture: the target prompt between two others, before degradation."""

    samples: FloatArray
    target: str
    start_s: float
    present: frozenset[str]


Degrade = Callable[[FloatArray, Capture, np.random.Generator], FloatArray]


def two_slips(x: FloatArray, cap: Capture, rng: np.random.Generator) -> FloatArray:
    """Two jitter-buffer slips inside the target: 10 or 20 ms late, then 10 or 20 ms caught up."""
    length = prompts()[cap.target].size / RATE
    first, second = sorted(rng.uniform(0.15, 0.85, 2) * length + cap.start_s)
    late, early = rng.choice([0.010, 0.020], 2)
    return impair.slip(impair.slip(x, second, -early), first, late)


def combined(x: FloatArray, cap: Capture, rng: np.random.Generator) -> FloatArray:
    y = impair.lose_packets(impair.gain(two_slips(x, cap, rng), -6.0), 0.01, rng)
    return g711.ulaw_roundtrip(y)


def noisy(x: FloatArray, cap: Capture, rng: np.random.Generator) -> FloatArray:
    """White noise 10 dB under the target prompt's own power."""
    return impair.add_noise(x, 10.0, rng, signal=prompts()[cap.target])


DEGRADATIONS: list[tuple[str, Degrade]] = [
    ("clean", lambda x, c, r: x),
    ("G.711 mu-law", lambda x, c, r: g711.ulaw_roundtrip(x)),
    ("G.711 A-law", lambda x, c, r: g711.alaw_roundtrip(x)),
    ("gain -12 dB", lambda x, c, r: impair.gain(x, -12.0)),
    ("gain +6 dB (peaks clip)", lambda x, c, r: impair.gain(x, 6.0)),
    ("clipping at 0.25 FS", lambda x, c, r: impair.clip(x, 0.25)),
    ("1 % packet loss", lambda x, c, r: impair.lose_packets(x, 0.01, r)),
    ("3 % packet loss", lambda x, c, r: impair.lose_packets(x, 0.03, r)),
    ("noise, 10 dB SNR", noisy),
    ("jitter: 2 slips, 10-20 ms", two_slips),
    ("all: slips, -6 dB, 1 % loss, mu-law", combined),
]


def make_capture(target: str, rng: np.random.Generator) -> Capture:
    """``target`` at a random offset, one other prompt before it and one after."""
    library = prompts()
    others = rng.choice(sorted(set(library) - {target}), 2, replace=False)
    gaps = [silence(float(g)) for g in rng.uniform(0.2, 1.5, 4)]
    parts = [gaps[0], library[others[0]], gaps[1]]
    start = sum(p.size for p in parts) / RATE
    parts += [library[target], gaps[2], library[others[1]], gaps[3]]
    return Capture(np.concatenate(parts), target, start, frozenset({target, *others}))


@dataclass(frozen=True)
class CaptureResult:
    """The target's match in one capture, and the best match of every absent prompt."""

    target: str
    score: float
    found: bool
    start_error_ms: float
    others: tuple[tuple[str, float, bool], ...]  # (prompt, score, reported by find_prompt)


def analyse_capture(path: Path, target: str, start_s: float, present: frozenset[str],
                    ) -> CaptureResult:
    """Match every committed prompt against the capture file (runs in a pool worker)."""
    heard, library = read_wav(path)[0], prompts()
    match = match_prompt(heard, library[target])
    others = []
    for name in sorted(set(library) - present):
        other = match_prompt(heard, library[name])
        others.append((name, other.score, heard_as_prompt(other)))
    return CaptureResult(target, match.score, heard_as_prompt(match),
                         abs(match.start_s - start_s) * 1000, tuple(others))


def heard_as_prompt(match: PromptMatch) -> bool:
    """``find_prompt``'s rule at its defaults, applied to a match already computed."""
    return match.score >= MIN_SCORE and match.coverage >= MIN_COVERAGE


def bench_prompts(workdir: Path, captures: int, pool: Executor) -> None:
    rng = np.random.default_rng(SEEDS["prompt"])
    rows = []
    for index, (label, degrade) in enumerate(DEGRADATIONS):
        jobs = []
        for trial in range(captures):
            for target in sorted(prompts()):
                cap = make_capture(target, rng)
                path = workdir / f"capture_{index:02d}_{trial}_{target}.wav"
                write_wav(path, degrade(cap.samples, cap, rng), RATE)
                jobs.append(pool.submit(analyse_capture, path, target, cap.start_s, cap.present))
        rows.append(prompt_row(label, [job.result() for job in jobs]))
    print(f"## 2. Prompt matching: {len(prompts())} committed prompts x {captures} capture(s) "
          "per degradation")
    print(f"  Each capture: another prompt, the target, another prompt, 0.2-1.5 s apart. found ="
          f" find_prompt\n  at its defaults (score >= {MIN_SCORE}, coverage >= {MIN_COVERAGE});"
          " start error = |found - true start|.\n  false = a prompt that is not in the capture"
          " reported by find_prompt, of all such tests;\n  worst other = the highest score of a"
          " prompt not in the capture, and which prompt was.\n")
    table(rows, ["degradation", "found", "median score", "min score", "start err med/max ms",
                 "false", "worst other (target)"])


def prompt_row(label: str, results: list[CaptureResult]) -> list[str]:
    scores = [r.score for r in results]
    errors = [r.start_error_ms for r in results if r.found]
    others = [(score, name, r) for r in results for name, score, _ in r.others]
    false = sum(reported for r in results for _, _, reported in r.others)
    worst, name, where = max(others, key=lambda o: o[0])
    return [label, f"{len(errors)}/{len(results)}", f"{statistics.median(scores):.3f}",
            f"{min(scores):.3f}", f"{statistics.median(errors):.1f}/{max(errors):.1f}" if errors
            else "-", f"{false}/{len(others)}", f"{worst:.3f} {name} ({where.target})"]


# --------------------------------------------------------------------- 3. markers

MARKER_SECONDS = 10.0
SPEECH_OVER = [None, -6.0, 0.0, 6.0, 10.0, 14.0]  # speech level re the marker's, dB
GAINS = (-12.0, -6.0, 0.0, 6.0)
OTHER_CALLS = 20


def call_ids(rng: np.random.Generator, count: int) -> list[str]:
    """Random SIP Call-IDs, the seed of each call's markers."""
    return [f"{int(rng.integers(1 << 62)):016x}@bench.invalid" for _ in range(count)]


def speech_bed(speech: FloatArray, over_db: float | None, rng: np.random.Generator,
               ) -> FloatArray:
    """``MARKER_SECONDS`` of speech, active level ``over_db`` re the markers', or silence."""
    n = int(MARKER_SECONDS * RATE)
    if over_db is None:
        return np.zeros(n, np.float32)
    start = int(rng.integers(0, speech.size - n))
    bed = speech[start : start + n].astype(np.float64)
    frames = bed[: n // 160 * 160].reshape(-1, 160)
    active = frames[np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (-40 / 20)]
    level = rms_dbfs(active.reshape(-1).astype(np.float32))
    target = marker.LEVEL_DBFS + over_db
    return (bed * 10 ** ((target - level) / 20)).astype(np.float32)


def marker_recording(call_id: str, bed: FloatArray, rng: np.random.Generator,
                     ) -> tuple[FloatArray, dict[str, float]]:
    """Both parties' markers over ``bed``, then gain and G.711: samples and true starts."""
    mix = bed.copy()
    starts: dict[str, float] = {}
    at = float(rng.uniform(0.3, 3.0))
    for party in ("caller", "agent"):
        m = marker.marker_for(call_id, party)
        tone = marker.render(m)
        first = int(at * RATE)
        mix[first : first + tone.size] += tone
        starts[m.id] = at
        at += float(rng.uniform(0.7, 3.0))
    gain, law = float(rng.choice(GAINS)), str(rng.choice(["ulaw", "alaw"]))
    return codec(impair.gain(mix, gain), law), starts


def bench_markers(workdir: Path, calls: int) -> None:
    rng = np.random.default_rng(SEEDS["marker"])
    speech = np.concatenate([x for name, x in prompts().items() if name != "hold_music"] * 2)
    rows = [marker_row(workdir, rng, speech, over, calls) for over in SPEECH_OVER]
    print(f"## 3. Per-call markers: {calls} calls per row, caller and agent markers in one "
          "recording")
    print(f"  Each recording: {MARKER_SECONDS:g} s, markers at {marker.LEVEL_DBFS:g} dBFS, "
          f"speech over them at the\n  level shown (active speech level re marker level), then "
          f"a gain of {'/'.join(f'{g:+g}' for g in GAINS)} dB\n  and mu-law or A-law (drawn per "
          f"call). found = both markers found within 20 ms of their start;\n  false = a marker "
          f"of another call ({OTHER_CALLS} calls x 2 parties) or of a third party on this\n  call "
          "found in the recording; weakest slot = the smallest slot share (found needs >= "
          f"{marker.MIN_SLOT_SHARE}\n  and that slot's tone at >= {marker.MIN_LEVEL_DBFS:g} dBFS)."
          "\n")
    table(rows, ["speech over marker", "found", "start err max ms", "weakest slot (min)",
                 "false", "worst false: weakest slot, its level"])


def marker_row(workdir: Path, rng: np.random.Generator, speech: FloatArray, over: float | None,
               calls: int) -> list[str]:
    """One row: ``calls`` recordings with speech ``over`` dB re the markers."""
    ids = call_ids(rng, calls + OTHER_CALLS)
    found = tried = false = tests = 0
    errors, weakest = [0.0], []
    worst_false = marker.MarkerHit(0.0, 0.0, 0.0, float("-inf"))
    for call_id in ids[:calls]:
        samples, starts = marker_recording(call_id, speech_bed(speech, over, rng), rng)
        heard = through_file(samples, workdir / "marker.wav")
        decoys = [marker.marker_for(c, p) for c in ids[calls:] for p in ("caller", "agent")]
        decoys.append(marker.marker_for(call_id, "supervisor"))
        own = [marker.marker_for(call_id, p) for p in ("caller", "agent")]
        hits = marker.scan(heard, own + decoys)
        for m in own:
            tried += 1
            hit = hits[m.id]
            weakest.append(hit.min_share)
            if hit.found and abs(hit.start_s - starts[m.id]) <= 0.020:
                found += 1
                errors.append(abs(hit.start_s - starts[m.id]) * 1000)
        for m in decoys:
            tests += 1
            false += hits[m.id].found
            worst_false = max(worst_false, hits[m.id], key=lambda h: h.min_share)
    label = "none" if over is None else f"{over:+g} dB"
    return [label, f"{found}/{tried}", f"{max(errors):.1f}", f"{min(weakest):.2f}",
            f"{false}/{tests}", f"{worst_false.min_share:.2f} at {worst_false.level_dbfs:.0f} dBFS"]


# --------------------------------------------------------------------- 4. speed


def best_time(run: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def bench_speed(workdir: Path) -> None:
    rng = np.random.default_rng(SEEDS["speed"])
    library = prompts()
    order = rng.permutation(sorted(library))
    speech = np.concatenate([library[n] for n in order] * 2)[: 60 * RATE]
    capture = g711.ulaw_roundtrip(speech)
    seconds = capture.size / RATE
    reference = library["welcome"]
    candidates = [marker.marker_for(c, p) for c in call_ids(rng, 20) for p in ("caller", "agent")]
    path = workdir / "speed.wav"
    write_wav(path, capture, RATE)
    rows: list[tuple[str, Callable[[], object]]] = [
        ("prompts: find_prompt, one 6.4 s reference", lambda: find_prompt(capture, reference)),
        ("DTMF: harness detect_dtmf (spandsp)", lambda: detect_dtmf(capture)),
        ("markers: scan, 2 candidates", lambda: marker.scan(capture, candidates[:2])),
        ("markers: scan, 40 candidates", lambda: marker.scan(capture, candidates)),
    ]
    if shutil.which("multimon-ng"):
        rows.append(("DTMF: multimon-ng incl. resampling, process start",
                     lambda: multimon_digits(path)))
    print(f"## 4. Speed: seconds of audio analysed per second (one core, {seconds:.0f} s of "
          "mu-law speech, best of 3)")
    table([[label, f"{seconds / best_time(run):,.0f}"] for label, run in rows],
          ["analysis", "audio s per s"])


# --------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=10, help="DTMF trials per case (x16 keys)")
    parser.add_argument("--captures", type=int, default=2,
                        help="captures per prompt and degradation")
    parser.add_argument("--calls", type=int, default=40, help="marker calls per row")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"# Audio analysis accuracy (seeds {SEEDS}; multimon-ng: "
          f"{shutil.which('multimon-ng') or 'not installed'})\n")
    with tempfile.TemporaryDirectory(prefix="bench_audio_") as tmp, ProcessPoolExecutor(
        max_workers=min(2, os.cpu_count() or 1)
    ) as pool:
        workdir = Path(tmp)
        for part in stages(workdir, args, pool):
            part()
    print(f"(ran in {time.perf_counter() - started:.0f} s)")
    return 0


def stages(workdir: Path, args: argparse.Namespace, pool: Executor,
           ) -> Iterator[Callable[[], None]]:
    yield lambda: bench_dtmf(workdir, args.trials)
    yield lambda: bench_prompts(workdir, args.captures, pool)
    yield lambda: bench_markers(workdir, args.calls)
    yield lambda: bench_speed(workdir)


if __name__ == "__main__":
    sys.exit(main())
