"""Call quality: what the caller's phone received, and how a prompt sounded when it arrived.

Pure functions of one call's observations:

* the audio stream's own counters as RTP and RTCP keep them in the caller's
  phone: packets received and lost (sequence gaps), the receive jitter (RFC 3550's
  estimate, mean), the round-trip time from RTCP reports;
* an objective score for a prompt the platform played, as heard: PESQ (ITU-T P.862,
  narrow-band, mapped to MOS-LQO by P.862.1) of the prompt's reference recording
  against the stretch of the call where it was found (with the caller's phone's own
  jitter-buffer slips taken out, :mod:`harness.audio.unslip`, where that scores better);
* the one-way (mouth-to-ear) delay through the platform: from when one party's
  phone started playing its audio marker to where the marker begins in what the
  other party's phone received.

A limit the step or load profile does not give is not judged; a score that could
not be taken (no prompt found) fails a ``mos_min`` rather than passing it.

The score, the jitter and the delay depend on when packets were read and played, so a
host too busy to run the harness's phones on time damages them by itself. When those
are the only limits missed, and this machine was busy during the call (Linux's CPU
pressure: some task waited for a CPU at least ``BUSY_HOST`` of the time) or one of the
harness's phones stalled, the verdict is "cannot decide", not a failure the platform
would be blamed for; a delay is still failed when it exceeds its limit by more than the
stall could add. Lost packets (sequence gaps) are counted on the wire and always judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.verdict import Verdict, passed

BUSY_HOST = 0.10
"""A share of the call during which some task on this host waited for a CPU (PSI) at which
the harness cannot vouch for audio judged by its timing. Measured: under ``stress --cpu 2``
with a two-worker load run the share was about 0.2 and every PESQ score stayed within 0.05
of a quiet run; alone on the host it stays near 0."""


@dataclass(frozen=True)
class MediaSeen:
    rx_packets: int
    rx_lost: int
    rx_jitter_ms: float | None = None
    rtt_ms: float | None = None
    mos: float | None = None  # PESQ MOS-LQO of ``prompt`` as heard; None: not scored
    prompt: str | None = None
    why_unscored: str = ""  # when a prompt was asked for and no score came
    delay_ms: float | None = None  # one-way, a marker's play to its arrival; None: not measured
    delay_path: str = ""  # "caller -> agent"
    why_no_delay: str = ""  # when a delay was asked for and none was measured
    host_busy: float | None = None  # share of the call some task on this host waited for a CPU (PSI)
    stall_s: float = 0.0  # the longest time one of the harness's phones did not run during the call
    mos_as_played: float | None = None  # the score with the phone's own slips left in, when they were taken out
    slips_out: str = ""  # the jitter-buffer slips of the caller's phone taken out before scoring

    @property
    def loss(self) -> float:
        """The share of the packets sent that never arrived."""
        sent = self.rx_packets + self.rx_lost
        return self.rx_lost / sent if sent else 0.0


@dataclass(frozen=True)
class QualityWanted:
    mos_min: float | None = None
    loss_max: float | None = None  # a share, 0.01 = 1 %
    jitter_max_ms: float | None = None
    delay_max_ms: float | None = None


def figures(seen: MediaSeen) -> dict[str, object]:
    return {"rx_packets": seen.rx_packets, "rx_lost": seen.rx_lost, "loss_pct": round(seen.loss * 100, 2),
            "rx_jitter_ms": seen.rx_jitter_ms, "rtt_ms": seen.rtt_ms,
            "mos_lqo": round(seen.mos, 2) if seen.mos is not None else None, "scored_prompt": seen.prompt,
            "one_way_delay_ms": round(seen.delay_ms, 1) if seen.delay_ms is not None else None,
            "delay_path": seen.delay_path or None,
            "host_cpu_busy_pct": round(seen.host_busy * 100, 1) if seen.host_busy is not None else None,
            "phone_stall_s": seen.stall_s or None,
            "mos_lqo_as_played": round(seen.mos_as_played, 2) if seen.mos_as_played is not None else None,
            "phone_slips_taken_out": seen.slips_out or None}


def quality_verdict(seen: MediaSeen, wanted: QualityWanted) -> Verdict:
    """Every limit given, judged; the problems together, in a reviewer's words. Undecided
    (``decided`` False) when only timing-judged limits were missed on a busy host."""
    if seen.rx_packets == 0:
        return Verdict("no audio arrived on the call (0 RTP packets received)", figures(seen))
    problems: list[tuple[str, bool]] = []  # (in a reviewer's words, judged by its timing)
    if wanted.loss_max is not None and seen.loss > wanted.loss_max:
        problems.append((f"{seen.loss * 100:.1f}% of the audio packets were lost ({seen.rx_lost} of "
                         f"{seen.rx_packets + seen.rx_lost}; at most {wanted.loss_max * 100:g}% allowed)", False))
    if wanted.jitter_max_ms is not None and seen.rx_jitter_ms is not None \
            and seen.rx_jitter_ms > wanted.jitter_max_ms:
        problems.append((f"the receive jitter was {seen.rx_jitter_ms:.1f} ms (at most "
                         f"{wanted.jitter_max_ms:g} ms allowed)", True))
    if wanted.mos_min is not None:
        if seen.mos is None:
            problems.append((f"no quality score: {seen.why_unscored or 'no prompt was scored'}", False))
        elif seen.mos < wanted.mos_min:
            out = (f"; with the caller's phone's own jitter-buffer slips taken out ({seen.slips_out}): "
                   f"{seen.mos_as_played:.2f} as it played them" if seen.slips_out and seen.mos_as_played is not None
                   else "")
            problems.append((f"prompt '{seen.prompt}' scored MOS {seen.mos:.2f} as heard (PESQ, ITU-T "
                             f"P.862; at least {wanted.mos_min:g} wanted{out})", True))
    if wanted.delay_max_ms is not None:
        if seen.delay_ms is None:
            problems.append((f"no one-way delay measured: {seen.why_no_delay or 'no marker was heard'}", False))
        elif seen.delay_ms > wanted.delay_max_ms:
            late = (f"the one-way delay ({seen.delay_path}) was {seen.delay_ms:.0f} ms (at most "
                    f"{wanted.delay_max_ms:g} ms allowed; ITU-T G.114 calls up to 150 ms transparent)")
            problems.append((late, seen.delay_ms - seen.stall_s * 1000 <= wanted.delay_max_ms))
    if not problems:
        return passed(figures(seen))
    said = "; ".join(text for text, _ in problems)
    busy = host_too_busy(seen)
    if busy and all(timing for _, timing in problems):
        return Verdict(f"cannot decide: {said}, but {busy}; the harness's own phones may have damaged the "
                       f"audio: run it again on a quieter host", figures(seen), decided=False)
    return Verdict("poor call quality: " + said, figures(seen))  # figures: a load run's


def host_too_busy(seen: MediaSeen) -> str:
    """Why the harness cannot vouch for audio judged by its timing on this call, or ''."""
    reasons = []
    if seen.host_busy is not None and seen.host_busy >= BUSY_HOST:
        reasons.append(f"this machine was busy during the call (some task waited for a CPU "
                       f"{seen.host_busy * 100:.0f}% of the time, Linux CPU pressure)")
    if seen.stall_s > 0:
        reasons.append(f"one of the harness's phones did not run for {seen.stall_s:.2f}s")
    return " and ".join(reasons)
