"""Who takes the seats (工位) when a scenario proves the declared seat count: ``seat_accounts:``.

A profile lists a few accounts; a seat test needs as many agents and callers as
the licence declares seats.  Each side (agents, callers) is a :class:`SeatPool`:
the accounts listed, seat 1 first, then a template that makes the account of
every further seat from its number ``n`` -- ``username: "20{n:02d}"`` with
``password: "${ENV:CC_PW_20{n:02d}}"`` -- so 200 seats need no 200 profile
lines.  Without ``seat_accounts:``, the profile's accounts named ``agent...``
are the agents and those named ``caller...`` the callers, in the profile's order.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, Literal

from harness.errors import TargetError
from harness.spec.checker import Checker, mapping
from harness.spec.schema import closest
from harness.spec.yamlmarks import DataPath
from harness.targets.model import Account, AccountTemplate, SeatAccounts, SeatPool, Target

Side = Literal["agents", "callers"]
_ENV_TEMPLATE = re.compile(r"^\$\{ENV:(.+)\}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PREFIX: dict[Side, str] = {"agents": "agent", "callers": "caller"}


def seat_accounts(chk: Checker, data: Mapping[str, Any]) -> SeatAccounts:
    """``seat_accounts:`` of a profile, every problem reported with its file, line and field."""
    spec = mapping(data.get("seat_accounts"))
    accounts = list(mapping(data.get("accounts")))
    pools = {side: _pool(chk, ("seat_accounts", side), mapping(spec.get(side)), accounts, side)
             for side in ("agents", "callers")}
    return SeatAccounts(pools["agents"], pools["callers"])


def _pool(chk: Checker, at: DataPath, spec: dict[str, Any], accounts: list[str], side: Side) -> SeatPool:
    listed = chk.get(spec, at, "accounts")
    if listed is None:
        listed = [] if "more" in spec else [a for a in accounts if a.startswith(_PREFIX[side])]
    for i, name in enumerate(listed):
        if name not in accounts:
            chk.report(at + ("accounts", i), f"'{name}' is not one of the profile's accounts",
                       f"{closest(name, accounts)}the profile's accounts: {', '.join(accounts) or 'none'}")
    more = mapping(chk.get(spec, at, "more"))
    return SeatPool(tuple(listed), _template(chk, at + ("more",), more) if more else None)


def _template(chk: Checker, at: DataPath, spec: dict[str, Any]) -> AccountTemplate:
    username = chk.get(spec, at, "username")
    user = _numbered(chk, at + ("username",), chk.text(at + ("username",), username)) \
        if username is not None else ""
    env = _password(chk, at + ("password",), spec.get("password"))
    register = chk.get(spec, at, "register")
    return AccountTemplate(user, env, True if register is None else bool(register))


def _numbered(chk: Checker, dpath: DataPath, text: str, varies: bool = True) -> str:
    """A template that formats with the seat number ``n`` (and, if ``varies``, changes with it)."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        one, two = text.format(n=1), text.format(n=2)
    except (KeyError, IndexError, ValueError) as exc:
        chk.report(dpath, f"'{text}' is no template of the seat number n ({exc})",
                   'write {n} where the number goes, e.g. "agent{n}" or "20{n:02d}"; '
                   "a literal brace is doubled: {{ }}")
        return text
    if varies and (fields != {"n"} or one == two):
        chk.report(dpath, f"'{text}' does not depend on the seat number n: every seat would get it",
                   'write {n} where the number goes, e.g. "agent{n}" or "20{n:02d}"')
    return text


def _password(chk: Checker, dpath: DataPath, value: Any) -> str | None:
    """``${ENV:NAME}`` with ``{n}`` in NAME -> the name's template; never a literal."""
    if value is None:
        return None
    match = _ENV_TEMPLATE.match(value) if isinstance(value, str) else None
    if match is None:
        chk.report(dpath, f"a literal {dpath[-1]} is not allowed in a profile",
                   'write ${ENV:NAME} with {n} in NAME, e.g. "${ENV:CC_PW_20{n:02d}}"', redact=True)
        return None
    name = _numbered(chk, dpath, match.group(1), varies=False)  # one password for all may do
    try:
        first = name.format(n=1)
    except (KeyError, IndexError, ValueError):
        return name  # reported
    if not _ENV_NAME.match(first):
        chk.report(dpath, f"'{first}' (seat 1) is not an environment variable name",
                   "NAME uses A-Z, 0-9 and _, with {n} where the seat number goes")
    return name


def seat_account(target: Target, side: Side, seat: int) -> Account:
    """The account of seat ``seat`` (1-based) on ``side``: listed, else made by the template."""
    pool: SeatPool = getattr(target.seat_accounts, side)
    if seat <= len(pool.accounts):
        return target.accounts[pool.accounts[seat - 1]]
    if pool.more is None:
        raise TargetError(
            f"seat {seat} has no {side[:-1]} account: target profile {target.path} gives "
            f"{len(pool.accounts)} ({', '.join(pool.accounts) or 'none'}) and no template for more "
            f'(hint: seat_accounts: {{{side}: {{more: {{username: "{_PREFIX[side]}{{n}}", '
            f'password: "${{ENV:PW_{{n}}}}"}}}}}})')
    return pool.more.account(f"{_PREFIX[side]}-seat{seat}", seat)


def seats_available(target: Target, side: Side) -> int | None:
    """How many seats ``side`` can fill: the accounts listed, or None (no limit) with a template."""
    pool: SeatPool = getattr(target.seat_accounts, side)
    return None if pool.more is not None else len(pool.accounts)
