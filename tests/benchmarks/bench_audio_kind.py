"""What a queued caller hears, classified: prints the confusion matrix of ``harness.audio.kind``.

    .venv/bin/python tests/benchmarks/bench_audio_kind.py [--clips 40] [--seed 7] [--seconds 5]

Each source of ``tests/audio/kinds.py`` (eight call-progress tones with their
cadences, chords with rhythm, the reference's hold music, speech prompts,
speech over a music bed 12 dB down, silence and comfort noise) gives
``--clips`` clips of ``--seconds`` each, put through a call (+-6 dB, G.711
mu- or A-law, 0-5 % of the packets lost and concealed). Each clip is
classified on its own (no context before or after it, the hardest case) and
judged as ``expect_audio`` judges a window: it *passes* when its kind holds at
least 80 % of its frames (``harness.checks.audio_kind.MIN_SHARE``).

Printed: per source, the passes and the mean share of each kind; then the
confusion matrix by kind (rows: the true kind, columns: the kind with the
largest share) and every false pass of another kind (a clip of one kind that
``expect_audio`` would pass as another). Fixed seeds, so the figures repeat.
It is not a pytest test (``tests/benchmarks`` is in ``norecursedirs``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.audio.kind import KINDS, classify, shares
from harness.checks.audio_kind import MIN_SHARE
from tests.audio.kinds import SOURCES, as_heard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    started = time.monotonic()
    confusion = {k: dict.fromkeys(KINDS, 0) for k in KINDS}
    false_passes: list[str] = []
    print(f"{'source':28} {'kind':8} {'passes':>8}  " + "  ".join(f"{k:>7}" for k in KINDS))
    for index, (name, (kind, make)) in enumerate(SOURCES.items()):
        rng = np.random.default_rng([args.seed, index])
        passes, total = 0, dict.fromkeys(KINDS, 0.0)
        for _ in range(args.clips):
            heard = shares(classify(as_heard(make(args.seconds, rng), rng)))
            passes += heard[kind] >= MIN_SHARE
            top = max(heard, key=lambda k: heard[k])
            confusion[kind][top] += 1
            false_passes += [f"{name}: passed as {k} ({heard[k]:.0%})" for k in KINDS
                             if k != kind and heard[k] >= MIN_SHARE]
            for k in KINDS:
                total[k] += heard[k] / args.clips
        print(f"{name:28} {kind:8} {passes:>4}/{args.clips:<3}  "
              + "  ".join(f"{total[k]:>7.1%}" for k in KINDS))
    print("\nconfusion (rows: true kind, columns: kind with the largest share)")
    print(f"{'':8} " + " ".join(f"{k:>8}" for k in KINDS))
    for kind in KINDS:
        print(f"{kind:8} " + " ".join(f"{confusion[kind][k]:>8}" for k in KINDS))
    print(f"\nfalse passes as another kind: {len(false_passes)}")
    for line in false_passes[:20]:
        print("  " + line)
    clips = args.clips * len(SOURCES)
    print(f"\n{clips} clips of {args.seconds:.1f} s in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
