"""``expect_register``: an account registering with a wrong password is refused.

A phone of its own registers the profile's account with a password the step
generates (never the account's, never written anywhere: the phone redacts it
from its SIP trace like any password) and waits for the registrar's final
answer.  The verdict is ``harness.checks.refusal.registration_problem``; a
registrar that does not answer within ``within`` leaves the run undecided (an
error).  If the platform accepts the wrong password, the registration is
removed at once, so no call is routed to the intruder's contact.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.checks.refusal import REGISTRATION_REFUSALS, registration_problem, statuses_words
from harness.errors import TargetError
from harness.runner.cast import phone_setup
from harness.runner.run import ScenarioRun
from harness.scenario.context import LoadContext
from harness.sip.controller import Phone, WaitTimeout
from harness.spec.checker import mapping
from harness.spec.yamlmarks import DataPath, Mark
from harness.steps.kind import Measurements, Said, Skips, StepKind, always
from harness.steps.recorded import NotConformant
from harness.steps.signalling import HANGUP_TIMEOUT

DEFAULT_WITHIN = 10.0


@dataclass(frozen=True)
class ExpectRegisterStep:
    """``account`` registering with a wrong password is refused with one of ``refused``."""

    account: str
    refused: tuple[int, ...] = REGISTRATION_REFUSALS
    within: float = DEFAULT_WITHIN
    mark: Mark | None = None


SCHEMA = """
description: >-
  Expect the registrar to refuse an account that registers with a wrong
  password (one the step generates; it is never written anywhere).
type: object
x-hint: "e.g. expect_register: {account: agent1, refused: 403}"
required: [account]
additionalProperties: false
properties:
  account:
    description: The account that tries to register, a key of the target profile's accounts.
    type: string
    minLength: 1
  refused:
    description: >-
      The status the registrar must refuse it with - 401 (the credentials challenged
      again) or 403 (Forbidden) - or a list of both (default either).
    type: [integer, array]
    minItems: 1
    uniqueItems: true
    items: {type: integer, description: "401 or 403."}
  within:
    $ref: "#/$defs/duration"
    description: How long the registrar has to answer (default 10s); no answer is an error, not a verdict.
"""


def _refused(ctx: LoadContext, at: DataPath, value: Any) -> tuple[int, ...]:
    if value is None:
        return REGISTRATION_REFUSALS
    listed = value if isinstance(value, list) else [value]
    for i, code in enumerate(listed):
        if code not in REGISTRATION_REFUSALS:
            where = at + ((i,) if isinstance(value, list) else ())
            ctx.report(where, f"{code} is not how a registrar refuses a password",
                       "401 (challenged again) or 403 (Forbidden)")
    return tuple(listed)


def _account(ctx: LoadContext, at: DataPath, name: str) -> str:
    if not name:
        return name  # the schema has said what is wrong with it
    ctx.account(at, name)
    target = ctx.target
    account = target.accounts.get(name) if target is not None else None
    if target is not None and account is not None and not account.register:
        ctx.report(at, f"account '{name}' does not register (register: false in {target.path})",
                   "choose an account that registers")
    elif account is not None and account.password is None:
        ctx.report(at, f"account '{name}' has no password to get wrong", "give it a password in the profile")
    return name


def build(ctx: LoadContext, at: DataPath, body: Any, mark: Mark) -> ExpectRegisterStep:
    """``expect_register: {account, refused, within}``."""
    fields = mapping(body)
    within = ctx.get(fields, at, "within")
    return ExpectRegisterStep(
        account=_account(ctx, at + ("account",), str(ctx.get(fields, at, "account") or "")),
        refused=_refused(ctx, at + ("refused",), ctx.get(fields, at, "refused")),
        within=DEFAULT_WITHIN if within is None else ctx.duration(at + ("within",), within),
        mark=mark,
    )


def _wrong_password(right: str) -> str:
    wrong = secrets.token_urlsafe(12)
    return wrong if wrong != right else wrong + "x"


def _start_phone(run: ScenarioRun, step: ExpectRegisterStep) -> Phone:
    account = run.target.accounts.get(step.account)
    if account is None or account.password is None:
        raise TargetError(f"target profile {run.target.path} has no account {step.account!r} with a password")
    name = f"register-{step.account}"
    name += f"-{sum(p.startswith(name) for p in run.board.phones) + 1}" if name in run.board.phones else ""
    setup = phone_setup(name, run.target, account, True, run.work_dir)
    assert setup.account is not None
    if setup.account.registrar is None:
        raise TargetError(f"account {step.account!r} does not register (register: false)")
    wrong = _wrong_password(account.password.reveal())
    return run.board.start([replace(setup, account=replace(setup.account, password=wrong))])[0]


def _unregister(run: ScenarioRun, phone: Phone) -> None:
    """Take back a registration the platform should never have accepted."""
    seen = len(phone.registrations)
    run.board.command(phone.name, "register", on=False)
    try:
        run.board.wait(lambda: phone.registrations[seen:] or None, HANGUP_TIMEOUT,
                       lambda: f"the removal of {phone.setup.account and phone.setup.account.id_uri}",
                       phones=[phone])
    except WaitTimeout:
        pass  # the phone unregisters again when it shuts down


def perform(run: ScenarioRun, step: ExpectRegisterStep) -> Measurements:
    phone = _start_phone(run, step)
    assert phone.setup.account is not None
    who = f"{step.account} ({phone.setup.account.id_uri})"
    try:
        reg = run.board.wait(lambda: phone.registrations[-1] if phone.registrations else None,
                             run.budget(step.within), lambda: f"the registrar's answer to {who}",
                             phones=[phone])
    except WaitTimeout as exc:
        raise TargetError(f"cannot decide: {exc} (with a wrong password); the registrar "
                          f"{phone.setup.account.registrar} did not answer") from None
    code, reason = int(reg.data["code"]), str(reg.data["reason"])
    answers = [str(e.data["first_line"]) for e in phone.sip if e.data["dir"] == "RX"]
    if not answers:
        raise TargetError(f"cannot decide: no SIP response from the registrar "
                          f"{phone.setup.account.registrar} to {who}; PJSIP gave up with {code} {reason}")
    figures = {"account": step.account, "status": code, "reason": reason, "responses": answers,
               "expected": list(step.refused)}
    if 200 <= code < 300:
        _unregister(run, phone)
    problem = registration_problem(step.account, step.refused, code, reason)
    if problem:
        raise NotConformant(run, "expect_register", problem, figures)
    return figures


def say(spec: Mapping[str, Any]) -> Said:
    account, refused = spec.get("account", ""), tuple(spec.get("refused") or REGISTRATION_REFUSALS)
    return (f"以错误密码注册账号 {account}，平台应拒绝（{statuses_words(refused, '或')}）",
            f"account {account} registering with a wrong password is refused ({statuses_words(refused)})")


KIND = StepKind(
    name="expect_register",
    model=ExpectRegisterStep,
    description="An account registering with a wrong password is refused (401 or 403).",
    schema=SCHEMA,
    build=build,
    run=perform,
    say=say,
    replay=always(Skips()),  # its own REGISTERs: a capture places none
    shot=(("软电话以错误密码注册，平台注册失败提示", "a softphone registering with a wrong password, and its failure"),
          ("注册被拒绝", "the registration is refused")),
)
