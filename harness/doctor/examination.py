"""One doctor run: the checks in order, against one target profile.

The SIP checks (3-5, 8) share one switchboard of phones, closed at the end; a
platform the profile says the harness manages (``managed: peer`` or
``reference``) is started for the run and stopped after, as ``ccharness run`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

from harness.doctor import api, call, clock, dtmf, network, recorded, registration
from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail
from harness.errors import HarnessError, PhoneError
from harness.runner.platform import managed_platform
from harness.sip.controller import Switchboard
from harness.targets.model import Target
from harness.targets.profile import load_prompt_library

Check = Callable[[Checkup], Iterator[Finding]]


def examine(target: Target, work: Path, did: str | None = None) -> Iterator[Finding]:
    """Run every check against ``target``, yielding findings as they are made.

    ``did`` names the DID of the test call (default: the profile's first).
    Phone logs and captures go under ``work``.
    """
    prompts = load_prompt_library(target.prompts) if target.prompts else None
    with ExitStack() as stack:
        try:
            stack.enter_context(managed_platform(target, prompts, work / "managed"))
        except HarnessError as exc:
            yield fail(0, "platform", f"managed: {target.managed}: {exc}",
                       "start the platform by hand and set managed: none, or fix what is said above")
            return
        c = Checkup(target, prompts, work, did if did is not None else next(iter(target.dids), ""),
                    Switchboard(work / "phones"))
        try:
            yield from network.reach(c)
            yield from network.answer(c)
            for number, check in ((3, registration.register), (4, call.test_call), (5, dtmf.probe)):
                yield from _phones(number, check, c)
            yield from api.recordings(c)
            yield from clock.skew(c)
            yield from _phones(8, recorded.recorded_call, c)
        finally:
            c.board.close()


def _phones(number: int, check: Check, c: Checkup) -> Iterator[Finding]:
    """A SIP check; a phone of ours that dies is reported, and the run goes on."""
    try:
        yield from check(c)
    except PhoneError as exc:
        yield fail(number, check.__name__.replace("_", " "), f"the harness's phone failed: {exc}",
                   f"the phone logs are in {c.work / 'phones'} (run with --work DIR to keep them)")
