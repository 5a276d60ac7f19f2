"""The carrier: a phone playing the PSTN side of the platform's outbound trunk (issue 16).

It listens where the profile's ``outbound.trunk.listen`` says (the address the
platform's trunk points at), accepts a call to any number, as a gateway
would, and keeps for each its request URI, every header of the INVITE
(``From``, ``P-Asserted-Identity``, ``Remote-Party-ID``, ``Privacy``...), the
time, and its audio (every phone captures what it hears).  It answers, rings
out, rejects with a code, or answers and plays a customer's voice, as the step
that starts an outbound call asks (``CarrierBehaviour``), call by call.

It is started once per scenario, by the first step that needs it, and stops
with the scenario's other phones.  Several scenarios cannot share a trunk
address at once: a second carrier on the same port fails to start, saying so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from harness.checks.outbound import CarrierCall, uri_user
from harness.errors import PhoneError, TargetError
from harness.runner.cast import account_setup
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup
from harness.sip.timeline import CallTimeline
from harness.targets.model import Outbound, Target

if TYPE_CHECKING:
    from harness.runner.run import ScenarioRun

PHONE = "carrier"


@dataclass(frozen=True)
class CarrierBehaviour:
    """How the carrier treats the next calls: answer (after a while, playing ``play``), ring, reject."""

    mode: str = "answer"  # answer | ring | reject
    answer_after: float = 0.5
    code: int = 486  # with reject
    play: str | None = None  # a WAV path: the customer's voice once answered

    def phone(self) -> Behaviour:
        return Behaviour(mode=self.mode, answer_after=self.answer_after, code=self.code,  # type: ignore[arg-type]
                         play=self.play)


@dataclass(frozen=True)
class Attempt:
    """One outbound call the scenario started: to ``number``, by ``origin``, at ``started``."""

    number: str
    origin: str  # "agent1 dialled 913800138000", "API originate for agent1"
    started: float  # monotonic
    call: str | None = None  # the scenario's call it belongs to (dial_out's id), if it has one


@dataclass
class Carrier:
    """The carrier of one scenario run: its phone and the outbound attempts made so far."""

    outbound: Outbound
    attempts: list[Attempt] = field(default_factory=list)
    judged: list[tuple[str, str]] = field(default_factory=list)  # (leg, number presented), in order


def outbound_of(target: Target) -> Outbound:
    """The profile's ``outbound:``, or an error saying how to write one."""
    if target.outbound is None:
        raise TargetError(f"target profile {target.path} has no outbound: section, so the harness "
                          f"does not know where the platform's trunk points (hint: outbound: "
                          f"{{trunk: {{listen: \"127.0.0.1:5190\"}}, caller_id: \"01062345678\", "
                          f"dial_prefix: \"9\"}})")
    return target.outbound


def carrier_setup(target: Target, work: str) -> PhoneSetup:
    """The carrier phone: on the trunk's address, a static account (or one that registers)."""
    trunk = outbound_of(target).trunk
    account = AccountSetup(id_uri=f"sip:carrier@{trunk.host}:{trunk.port}")
    if trunk.auth is not None:
        account = account_setup(target, trunk.auth, True)
    return PhoneSetup(name=PHONE, capture_dir=work, sip_host=trunk.host, sip_port=trunk.port,
                      transport=trunk.transport, account=account, behaviour=CarrierBehaviour().phone(),
                      codecs=target.codecs)


def carrier(run: ScenarioRun) -> Carrier:
    """The run's carrier, started (and registered, with ``trunk.auth``) on first use."""
    if run.carrier is not None:
        return run.carrier  # type: ignore[no-any-return]
    outbound = outbound_of(run.target)
    setup = carrier_setup(run.target, str(run.work_dir))
    try:
        run.board.start([setup])
    except PhoneError as exc:
        t = outbound.trunk
        raise TargetError(f"the carrier could not listen on {t.host}:{t.port}/{t.transport} (the "
                          f"profile's outbound.trunk.listen; is another run's carrier there?): {exc}") from None
    if setup.account is not None and setup.account.registrar:
        run._await_registration(setup)
    made = Carrier(outbound)
    run.carrier = made
    return made


def behave(run: ScenarioRun, behaviour: CarrierBehaviour) -> None:
    """Tell the carrier how to treat the calls that come next."""
    carrier(run)
    run.board.command(PHONE, "behave", behaviour=asdict(behaviour.phone()))


def attempt(run: ScenarioRun, number: str, origin: str, call: str | None = None) -> Attempt:
    """Note an outbound call the scenario starts now (before the INVITE or API request goes)."""
    made = Attempt(number, origin, time.monotonic(), call)
    carrier(run).attempts.append(made)
    return made


def leg_of(run: ScenarioRun, call: CarrierCall) -> CallTimeline:
    """The carrier phone's timeline of ``call``."""
    return run.board.timelines[(PHONE, call.leg.removeprefix(f"{PHONE}/"))]


def calls(run: ScenarioRun) -> list[CarrierCall]:
    """Every call the carrier has been offered so far, first offered first."""
    if PHONE not in run.board.phones:
        return []
    seen = []
    for leg in run.board.calls_of(PHONE):
        offer = leg.events[0] if leg.events else None
        if offer is None or offer.kind != "incoming":
            continue
        answered = leg.last("call", state="CONFIRMED")
        final = leg.final_status() if leg.state == "DISCONNECTED" else None
        uri = str(offer.data.get("request_uri") or offer.data.get("local") or "")
        headers = tuple((str(n), str(v)) for n, v in offer.data.get("offer") or [])
        seen.append(CarrierCall(f"{PHONE}/{leg.handle}", uri_user(uri), uri, headers, offer.t, offer.wall,
                                answered.t if answered else None,
                                200 if answered else final[0] if final else None))
    return sorted(seen, key=lambda c: c.offered)
