"""What the call-signalling step kinds share at run time: waiting for a call state, and
telling a platform that never answered from one that refused (call, expect_answer,
expect_hangup, hangup)."""

from __future__ import annotations

from harness.checks import signalling
from harness.errors import TargetError
from harness.runner.run import ScenarioRun
from harness.sip.timeline import CallTimeline

HANGUP_TIMEOUT = 5.0


def unreachable(run: ScenarioRun, tl: CallTimeline) -> TargetError | None:
    """The platform never answered the INVITE at all: an error, not a conformance verdict."""
    t = run.target
    heard = sum(1 for e in run.board.sip_trace(tl) if e.data["dir"] == "RX")
    why = signalling.unreachable(tl, heard, f"{t.host}:{t.port}/{t.transport}",
                                 run.board.tls_failure(tl.phone) if not heard else None)
    return None if why is None else TargetError(why)


def wait_state(run: ScenarioRun, tl: CallTimeline, states: tuple[str, ...], within: float,
                what: str) -> str:
    return run.board.wait(
        lambda: tl.state if tl.state in states else None, run.budget(within), lambda: what, timeline=tl
    )
