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

Every problem is reported with the file, line and field (``harness.spec.checker``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, cast

from harness.spec.checker import Checker, mapping
from harness.spec.yamlmarks import DataPath
from harness.targets.model import Account, Outbound, Secret, Transport, Trunk

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
    return Outbound(trunk, number, prefix)


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
