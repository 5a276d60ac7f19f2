"""Prompt matching on menus stitched from several files: prints the figures.

    .venv/bin/python tests/benchmarks/bench_stitched_prompts.py [--trials 1000] [--seed 13]
        [--workers 2] [--no-old]

Each trial builds a stitched prompt with ``tests/audio/stitched.py``: a
reference of 2-4 phrase files (one of them a digit phrase) 0.1-0.3 s apart,
and the capture of the same files as a call plays them (other gaps of
0-0.3 s, level -12..+12 dB, clock drift -0.1..+0.1 %, G.711 mu- or A-law,
1-5 % of the 20 ms packets lost and concealed by repeating the previous frame
6 dB down), plus the capture of its near duplicate (the digit phrase swapped
for the other digit's). Both are matched with ``match_prompt`` and judged by
``find_prompt``'s rule at its defaults (score >= 0.8, coverage >= 0.9):

* the right prompt: false fails, and its score and coverage distribution;
* the near duplicate: false passes, and its highest score and coverage;
* the separation margin: lowest right score minus highest near-duplicate
  score (and the same for coverage).

"old" is ``harness/audio/prompt.py`` as it was before it cut references into
segments (commit 09c6be6, read with ``git show``): the whole reference at one
lag, quarter-second pieces slipping up to 60 ms, judged piece by piece.
Fixed seeds, so the figures repeat; about 3 minutes for 1,000 trials with the
old matcher on two shared cores.
It is not a pytest test (``tests/benchmarks`` is in ``norecursedirs``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from inspect import signature
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.audio.prompt import MIN_COVERAGE, PromptMatch, find_prompt, match_prompt
from tests.audio.stitched import Phrase, load_phrases, make_case

MIN_SCORE: float = signature(find_prompt).parameters["min_score"].default
OLD_COMMIT = "09c6be6"
Matcher = Callable[[np.ndarray, np.ndarray], PromptMatch]


@dataclass(frozen=True)
class Trial:
    """One stitched case matched by one matcher: the right prompt and its near duplicate."""

    right: tuple[float, float]  # score, coverage
    duplicate: tuple[float, float]
    start_error_ms: float
    case: str


@lru_cache(maxsize=1)
def phrases() -> dict[str, Phrase]:
    return load_phrases()


@lru_cache(maxsize=1)
def old_match_prompt() -> Matcher:
    """``match_prompt`` of ``OLD_COMMIT``, loaded from git as a module of its own."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:harness/audio/prompt.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp(prefix="old_prompt_")) / "old_prompt.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_prompt", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_prompt"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    matcher: Matcher = module.match_prompt
    return matcher


def matcher(name: str) -> Matcher:
    return match_prompt if name == "new" else old_match_prompt()


def run_trial(seed: int, index: int, matchers: tuple[str, ...]) -> dict[str, Trial]:
    """Build case ``index`` of ``seed`` and match it with each matcher (in a pool worker)."""
    case = make_case(np.random.default_rng([seed, index]), phrases())
    label = f"#{index} {'+'.join(case.phrases)}; {case.impairments}"
    trials = {}
    for name in matchers:
        right = matcher(name)(case.heard, case.reference)
        duplicate = matcher(name)(case.near_duplicate, case.reference)
        trials[name] = Trial((right.score, right.coverage), (duplicate.score, duplicate.coverage),
                             abs(right.start_s - case.start_s) * 1000, label)
    return trials


def heard(found: tuple[float, float]) -> bool:
    """``find_prompt``'s rule at its defaults."""
    return found[0] >= MIN_SCORE and found[1] >= MIN_COVERAGE


def report(name: str, trials: list[Trial]) -> None:
    n = len(trials)
    right = np.array([t.right for t in trials])
    dup = np.array([t.duplicate for t in trials])
    fails = [t for t in trials if not heard(t.right)]
    passes = [t for t in trials if heard(t.duplicate)]
    score, cover = right[:, 0], right[:, 1]
    print(f"## {name} matcher")
    print(f"  right prompt:   {len(fails)} false fails / {n}")
    print(f"    score     min {score.min():.3f}  p1 {np.percentile(score, 1):.3f}  "
          f"p5 {np.percentile(score, 5):.3f}  median {np.median(score):.3f}")
    print(f"    coverage  min {cover.min():.3f}  p1 {np.percentile(cover, 1):.3f}  "
          f"p5 {np.percentile(cover, 5):.3f}  median {np.median(cover):.3f}")
    ok = [t.start_error_ms for t in trials if heard(t.right)]
    if ok:
        print(f"    start error when heard: median {np.median(ok):.1f} ms, max {max(ok):.1f} ms")
    print(f"  near duplicate: {len(passes)} false passes / {n}")
    print(f"    score     max {dup[:, 0].max():.3f}  p99 {np.percentile(dup[:, 0], 99):.3f}  "
          f"median {np.median(dup[:, 0]):.3f}")
    print(f"    coverage  max {dup[:, 1].max():.3f}  p99 {np.percentile(dup[:, 1], 99):.3f}  "
          f"median {np.median(dup[:, 1]):.3f}")
    print(f"  separation: lowest right minus highest near duplicate: score "
          f"{score.min() - dup[:, 0].max():+.3f}, coverage {cover.min() - dup[:, 1].max():+.3f}")
    worst = min(trials, key=lambda t: t.right[0])
    print(f"  lowest right score {worst.right[0]:.3f}: {worst.case}")
    for t in fails[:3]:
        print(f"  false fail {t.right[0]:.3f}/{t.right[1]:.3f}: {t.case}")
    for t in passes[:3]:
        print(f"  false pass {t.duplicate[0]:.3f}/{t.duplicate[1]:.3f}: {t.case}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=1000, help="stitched prompts (default 1000)")
    parser.add_argument("--seed", type=int, default=13, help="corpus seed (default 13)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--no-old", action="store_true",
                        help=f"skip the old matcher (of commit {OLD_COMMIT}, needs git)")
    args = parser.parse_args(argv)
    matchers = ("new",) if args.no_old else ("new", "old")
    if not args.no_old:
        old_match_prompt()  # fail before the pool starts if git cannot give it
    started = time.perf_counter()
    print(f"# Stitched prompts: {args.trials} trials, seed {args.seed}; heard = score >= "
          f"{MIN_SCORE} and coverage >= {MIN_COVERAGE}\n")
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run_trial, [args.seed] * args.trials, range(args.trials),
                                [matchers] * args.trials, chunksize=8))
    for name in matchers:
        report(name, [r[name] for r in results])
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
