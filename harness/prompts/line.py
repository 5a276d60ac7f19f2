"""One call of a capture's walk: where it went, the keys sent on it, what happened last.

After each step the walk replays, the call's line is brought up to date from
what the step's kind declares it does (``harness.steps.kind``): keys end the
take before them and the reply is listened for from the keys on; our own sound
ends the take too; a wait only lets time pass, so a prompt may run on through
it; a sound that is no prompt (hold music) is let pass, and the next prompt
is listened for after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.prompts.take import Take
from harness.runner.run import CallState
from harness.steps.kind import LetsPass, OnlyWaits, PlaysSound, Replayed, SendsKeys, WaitsForAnswer


@dataclass
class Line:
    """One call of the walk, and where listening on it stands."""

    destination: str
    keys: str = ""
    after: str = "the call was placed"  # the last thing that happened, for messages
    last: Take | None = None  # the take just heard, while nothing else has happened since

    def follow(self, what: Replayed, state: CallState, began: float, ended: float, step: str) -> None:
        """The line after a step replayed as ``what`` (named ``step`` in messages), which ran
        from ``began`` to ``ended`` (monotonic); it may move the call's cursor on."""
        t0 = state.timeline.capture_t0
        if isinstance(what, WaitsForAnswer):
            self.after = "the answer"
        elif isinstance(what, SendsKeys):
            if t0 is not None:  # the reply is heard from the keys on
                state.cursor = max(state.cursor, began - t0)
            self.keys += what.digits
            self.after, self.last = f"keys {what.digits!r} were sent ({what.method})", None
        elif isinstance(what, PlaysSound):  # our own sound: what follows is no longer the take's
            self.after, self.last = step, None
        elif isinstance(what, OnlyWaits):  # only waited: a prompt may still run on
            self.after = step
        elif isinstance(what, LetsPass):  # no prompt was heard meanwhile: the next comes after it
            if t0 is not None:
                state.cursor = max(state.cursor, ended - t0)
            self.after, self.last = step, None
