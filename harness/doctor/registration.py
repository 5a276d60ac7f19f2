"""Check 3: every account of the profile that registers does so, with its own credentials.

One phone per account, as in a scenario run.  Every account but the caller's
unregisters again straight after: an agent phone of ours that stayed
registered would be offered the test calls that reach a queue.  A password
is only ever named by its ``${ENV:NAME}`` reference, never shown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from harness.doctor.checkup import Checkup
from harness.doctor.finding import Finding, fail, ok, skipped
from harness.errors import TargetError
from harness.runner.cast import phone_setup
from harness.sip.config import PhoneSetup
from harness.sip.controller import WaitTimeout
from harness.targets.model import Account

REGISTER_TIMEOUT = 10.0  # for all accounts together, once the phones are up
UNREGISTER_TIMEOUT = 3.0


def register(c: Checkup) -> Iterator[Finding]:
    accounts = [a for a in c.target.accounts.values() if a.register]
    if not accounts:
        yield skipped(3, "register", "no account in the profile registers (all register: false)"
                      if c.target.accounts else "the profile has no accounts")
        return
    if not c.reachable:
        yield skipped(3, "register", "the platform is not reachable (check 1)")
        return
    setups: dict[str, PhoneSetup] = {}
    for account in accounts:
        try:
            setups[account.name] = phone_setup(f"doctor-{account.name}", c.target, account, True,
                                               c.work / "phones")
        except TargetError as exc:  # its password's environment variable is not set
            c.registered[account.name] = False
            yield fail(3, "register", f"account {_who(account)}: {exc}", _unset_hint(account, c))
    c.board.start(list(setups.values()))
    c.phones.update({name: s.name for name, s in setups.items()})
    deadline = time.monotonic() + REGISTER_TIMEOUT
    for name, setup in setups.items():
        yield _registration(c, c.target.accounts[name], setup, deadline)
    caller = c.caller()
    _unregister(c, [s for name, s in setups.items()
                    if c.registered.get(name) and (caller is None or name != caller.name)])


def _unregister(c: Checkup, setups: list[PhoneSetup]) -> None:
    """Unregister these phones, waiting (a bounded time) until the platform has taken it."""
    phones = [c.board.phones[s.name] for s in setups]
    for phone in phones:
        c.board.command(phone.name, "register", on=False)

    def done() -> bool | None:
        return all(not p.registrations[-1].data["active"] for p in phones) or None

    try:
        c.board.wait(done, UNREGISTER_TIMEOUT, lambda: "the agents' unregistration", phones=phones)
    except WaitTimeout:
        pass  # their registrations lapse by themselves; the calls may then reach them meanwhile


def _who(account: Account) -> str:
    return f"{account.name} (username {account.username})"


def _unset_hint(account: Account, c: Checkup) -> str:
    env = account.password.env if account.password else "?"
    return (f"set {env} in the environment (the profile {c.target.path} writes the password as "
            f"${{ENV:{env}}})")


def _registration(c: Checkup, account: Account, setup: PhoneSetup, deadline: float) -> Finding:
    phone = c.board.phones[setup.name]
    registrar = setup.account.registrar if setup.account else "?"
    uri = setup.account.id_uri if setup.account else "?"
    try:
        reg = c.board.wait(lambda: phone.registrations[-1] if phone.registrations else None,
                           deadline - time.monotonic(), lambda: f"the answer to REGISTER of {uri}",
                           phones=[phone])
    except WaitTimeout as exc:
        c.registered[account.name] = False
        return fail(3, "register", f"account {_who(account)}: {exc}", _silent_hint(c))
    code, reason = int(reg.data["code"]), str(reg.data["reason"])
    c.registered[account.name] = code // 100 == 2
    said = f"account {_who(account)}: REGISTER with {registrar} answered {code} {reason}"
    if code // 100 == 2:
        return ok(3, "register", f"account {_who(account)} registered ({code} {reason}, "
                                 f"expires {reg.data['expires']}s)")
    if code in (401, 403, 407):
        return fail(3, "register", f"{said} after authenticating", _refused_hint(c, account))
    if code == 404:
        return fail(3, "register", said,
                    f"the platform does not know {account.username}@"
                    f"{account.domain or c.target.domain}: "
                    f"check accounts.{account.name}.username and platform.domain in {c.target.path}")
    if code in (408, 503):  # PJSIP's own verdicts when nothing answered or the transport failed
        return fail(3, "register", said, _silent_hint(c))
    return fail(3, "register", said, f"see what the platform says about {code} {reason}; check "
                                     f"accounts.{account.name} in {c.target.path}")


def _refused_hint(c: Checkup, account: Account) -> str:
    if account.password is None:
        return (f"account {account.name} has no password, but the platform asks for one: add "
                f"password: ${{ENV:NAME}} to accounts.{account.name} in {c.target.path}")
    auth = f" and auth_user ({account.auth_user})" if account.auth_user else ""
    return (f"wrong password for account {account.name} (username {account.username}): check "
            f"${{ENV:{account.password.env}}}{auth} in {c.target.path}")


def _silent_hint(c: Checkup) -> str:
    t = c.target
    return (f"the registrar did not answer: check platform.domain ({t.domain}) and "
            f"platform.outbound_proxy in {t.path}; OPTIONS was answered, so the address is right")
