"""How a platform calls out, from a profile's ``outbound:`` section (issue 16).

A call centre reaches customers over a trunk to a carrier (a PSTN gateway).
For a test, the harness *is* the carrier: the profile says where the
platform's outbound trunk points (``trunk.listen``, an address of this host
the harness's carrier phone listens on), the company's registered number the
platform must present (``caller_id``), and the prefix an agent dials before
a customer's number (``dial_prefix``)::

    outbound:
      trunk: {listen: "127.0.0.1:5190", transport: udp}
      caller_id: "01062345678"
      dial_prefix: "9"
      forbidden_hours: {windows: ["21:00-09:00"], tz: Asia/Shanghai, clause: "..."}

``forbidden_hours`` is the anti-harassment undertaking's rule (``harness.spec.hours``):
daily windows, weekdays and holidays, in the called party's time zone, or
``rules: cn-telesales-2013`` (a national rule set the user chooses).
``move_clock: false`` keeps the harness from moving the platform's rule clock.

Every problem is reported with the file, line and field (``harness.spec.checker``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, cast

from harness.spec.checker import Checker, mapping
from harness.spec.hours import RULE_SETS, BadRule, CallingRules, read_rules
from harness.spec.yamlmarks import DataPath
from harness.targets.model import Account, DoNotCall, Outbound, Secret, Transport, Trunk

_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_PREFIX = re.compile(r"^[0-9*#]{0,6}$")
_ENV_REF = re.compile(r"^\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}$")
_LISTEN_HINT = 'the carrier listens on an IP address of this host and a port, e.g. listen: "127.0.0.1:5190"'


def outbound(chk: Checker, data: Mapping[str, Any]) -> Outbound | None:
    """``outbound:`` of a profile, or None when it has none."""
    if "outbound" not in data:
        return None
    at: DataPath = ("outbound",)
    spec = mapping(data.get("outbound"))
    trunk = _trunk(chk, at + ("trunk",), mapping(chk.get(spec, at, "trunk")))
    caller_id = chk.get(spec, at, "caller_id")
    number = chk.text(at + ("caller_id",), caller_id) if caller_id is not None else None
    if number is not None and not _NUMBER.match(number):
        chk.report(at + ("caller_id",), f"'{number}' is not a telephone number",
                   'the company\'s registered number, digits only (a leading + allowed), e.g. "01062345678"')
    prefix_given = chk.get(spec, at, "dial_prefix")
    prefix = chk.text(at + ("dial_prefix",), prefix_given) if prefix_given is not None else ""
    if not _PREFIX.match(prefix):
        chk.report(at + ("dial_prefix",), f"'{prefix}' is not a dial prefix",
                   'up to six digits (* and # allowed) dialled before the number, e.g. "9"; "" for none')
    hours = mapping(chk.get(spec, at, "forbidden_hours"))
    move = chk.get(spec, at, "move_clock")
    dnc = mapping(chk.get(spec, at, "do_not_call"))
    return Outbound(trunk, number, prefix, _hours(chk, at + ("forbidden_hours",), hours) if hours else None,
                    move is not False, _dnc(chk, at + ("do_not_call",), dnc) if dnc else None)


def _dnc(chk: Checker, at: DataPath, spec: dict[str, Any]) -> DoNotCall:
    """``do_not_call: {numbers, refusal: {dtmf, hangup_within}, period, clause}``."""
    numbers = [chk.text(at + ("numbers", i), n) for i, n in enumerate(chk.get(spec, at, "numbers") or [])]
    for i, n in enumerate(numbers):
        if not _NUMBER.match(n):
            chk.report(at + ("numbers", i), f"'{n}' is not a telephone number", 'digits only, e.g. "13900000000"')
    refusal = mapping(chk.get(spec, at, "refusal"))
    key = str(chk.get(refusal, at + ("refusal",), "dtmf") or "9")
    if len(key) != 1 or key not in "0123456789*#":
        chk.report(at + ("refusal", "dtmf"), f"'{key}' is not one DTMF key", "one of 0-9, * or #")
    within = chk.get(refusal, at + ("refusal",), "hangup_within")
    period = chk.get(spec, at, "period")
    return DoNotCall(tuple(numbers), key,
                     chk.duration(at + ("refusal", "hangup_within"), within) if within is not None else 5.0,
                     _days(chk, at + ("period",), period) if period is not None else 180.0,
                     str(chk.get(spec, at, "clause") or ""))


def _days(chk: Checker, at: DataPath, value: Any) -> float:
    text = str(value).strip()
    if text.endswith("d") and text[:-1].isdigit():
        return float(text[:-1])
    chk.report(at, f"'{text}' is not a number of days", "e.g. 180d")
    return 180.0


def _hours(chk: Checker, at: DataPath, spec: dict[str, Any]) -> CallingRules | None:
    """``forbidden_hours: {windows, tz, days, holidays, clause}`` or ``{rules: NAME, tz}``."""
    name = chk.get(spec, at, "rules")
    windows: tuple[str, ...] = ()
    tz, clause = "Asia/Shanghai", ""
    if name is not None:
        if name not in RULE_SETS:
            chk.report(at + ("rules",), f"'{name}' is not a rule set the harness ships",
                       f"one of {', '.join(sorted(RULE_SETS))}, or write windows: [...] and tz:")
            return None
        windows, tz, clause = RULE_SETS[name]
    given = chk.get(spec, at, "windows")
    windows = tuple(str(w) for w in given) if given is not None else windows
    if not windows and name is None:
        chk.report(at, "no forbidden windows", 'give windows: ["21:00-09:00"] (as the undertaking states '
                   "them) or rules: cn-telesales-2013")
    tz = str(chk.get(spec, at, "tz") or tz)
    clause = str(chk.get(spec, at, "clause") or clause)
    fields = {"windows": windows, "tz": [tz], "days": chk.get(spec, at, "days") or [],
              "holidays": chk.get(spec, at, "holidays") or []}
    problem = None
    for field, values in fields.items():  # each word alone, so a problem names its field
        for i, value in enumerate(values):
            try:
                if field == "windows":
                    read_rules([str(value)], "UTC")
                elif field == "tz":
                    read_rules([], str(value))
                elif field == "days":
                    read_rules([], "UTC", days=[str(value)])
                else:
                    read_rules([], "UTC", holidays=[str(value)])
            except BadRule as bad:
                problem = bad
                chk.report(at + ((field, i) if field != "tz" else (field,)), str(bad))
    if problem is not None:
        return None
    return read_rules(windows, tz, [str(d) for d in fields["days"]], [str(h) for h in fields["holidays"]], clause)


def _trunk(chk: Checker, at: DataPath, spec: dict[str, Any]) -> Trunk:
    listen = chk.get(spec, at, "listen")
    host, port = _listen(chk, at + ("listen",), listen) if listen is not None else ("127.0.0.1", 0)
    transport = cast(Transport, chk.get(spec, at, "transport") or "udp")
    auth = mapping(chk.get(spec, at, "auth"))
    return Trunk(host, port, transport, _auth(chk, at + ("auth",), auth) if auth else None)


def _listen(chk: Checker, dpath: DataPath, value: Any) -> tuple[str, int]:
    text = chk.text(dpath, value)
    host, _, port = text.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
        number = int(port)
    except ValueError:
        chk.report(dpath, f"'{text}' is not an address and port", _LISTEN_HINT)
        return "127.0.0.1", 0
    if not 1 <= number <= 65535:
        chk.report(dpath, f"port {number} is out of range", _LISTEN_HINT)
    return host.strip("[]"), number


def _auth(chk: Checker, at: DataPath, spec: dict[str, Any]) -> Account:
    """The account the carrier registers with at the platform (a trunk peer that registers)."""
    username = chk.get(spec, at, "username")
    password = spec.get("password")
    match = _ENV_REF.match(password) if isinstance(password, str) else None
    if password is not None and match is None:
        chk.report(at + ("password",), "a literal password is not allowed in a profile",
                   "write ${ENV:NAME} and set NAME in the environment", redact=True)
    return Account(name="carrier", username=chk.text(at + ("username",), username) if username is not None else "",
                   password=Secret(match.group(1)) if match else None)
