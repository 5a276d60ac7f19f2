"""Click-to-call on a PBX itself (``adapter.originate`` of ``type: asterisk`` and ``freeswitch``; issue 16).

A CRM's click-to-call button on Asterisk or FreeSWITCH asks the PBX to ring the
agent's phone and, once the agent answers, to go on in the dialplan as if the
agent had dialled the customer: so the outbound rules of that context -- the
caller ID presented, time conditions, a do-not-call lookup, the recording --
apply to it as to an agent's own call. The profile says where::

    adapter:
      type: asterisk
      originate:
        context: from-agents        # where the agents' outbound dialling runs
        endpoint: "PJSIP/{agent}"   # the agent's endpoint (the default; user/{agent} on FreeSWITCH)
        extension: "{prefix}{number}"   # what runs there (the default: dial prefix and number)
        ring_timeout: 30            # seconds the agent's phone may ring

Asterisk gets it through ARI (``POST /ari/channels`` with ``endpoint``,
``extension``, ``context``, ``priority=1``, ``timeout`` and ``callerId``, the
customer's number for the agent's screen); FreeSWITCH through the event socket
(``bgapi originate {origination_caller_id_number=...}ENDPOINT EXTENSION XML
CONTEXT``), which answers at once with a job id while the call goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.errors import TargetError
from harness.targets.model import Target

_FIELDS = re.compile(r"\{(agent|number|prefix)\}")
_UNKNOWN = re.compile(r"\{([^{}]*)\}")
_SAFE = re.compile(r"^[A-Za-z0-9_.@/+:*#-]+$")  # what may reach a dialplan or an originate line


@dataclass(frozen=True)
class PbxOriginate:
    context: str
    endpoint: str
    extension: str = "{prefix}{number}"
    ring_timeout: int = 30
    prefix: str = ""  # the profile's outbound.dial_prefix

    def filled(self, template: str, agent: str, number: str) -> str:
        """``template`` with {agent}, {number} and {prefix} put in; refused if the result could
        carry anything but a dial string (a space, a comma, a brace would change the command)."""
        value = _FIELDS.sub(lambda m: {"agent": agent, "number": number, "prefix": self.prefix}[m.group(1)],
                            template)
        if not _SAFE.match(value):
            raise TargetError(f"the click-to-call would dial {value!r}, which holds characters a dial string "
                              f"cannot (check adapter.originate and the agent's extension {agent!r})")
        return value


def pbx_originate(target: Target, default_endpoint: str) -> PbxOriginate | None:
    """The profile's ``adapter.originate`` for a PBX adapter, or None when it has none."""
    spec: Any = target.adapter.get("originate")
    if spec is None:
        return None
    where = f"target profile {target.path}: adapter.originate"
    if not isinstance(spec, dict) or not isinstance(spec.get("context"), str) or not spec["context"]:
        raise TargetError(f"{where} needs context: the dialplan context the agents' outbound calls run in "
                          f"(e.g. originate: {{context: from-agents}})")
    for name in ("endpoint", "extension"):
        value = spec.get(name)
        if value is not None:
            unknown = [m for m in _UNKNOWN.findall(str(value)) if m not in ("agent", "number", "prefix")]
            if unknown:
                raise TargetError(f"{where}.{name}: {{{unknown[0]}}} is not a placeholder here "
                                  f"(use {{agent}}, {{number}} or {{prefix}})")
    outbound = target.outbound
    return PbxOriginate(context=spec["context"], endpoint=str(spec.get("endpoint") or default_endpoint),
                        extension=str(spec.get("extension") or "{prefix}{number}"),
                        ring_timeout=int(spec.get("ring_timeout") or 30),
                        prefix=outbound.dial_prefix if outbound is not None else "")
