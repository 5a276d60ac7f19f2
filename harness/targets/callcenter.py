"""Queue state from FreeSWITCH's ``mod_callcenter``: its listings read, and mapped to SIP users.

``callcenter_config`` answers its ``list`` commands with the rows of its
tables, pipe-separated: a header line naming the columns, one line per row,
then ``+OK`` (a listing with no rows is ``+OK`` alone; ``queue list`` always
writes its header).  The adapter reads four: ``queue list`` (each queue's
strategy and, since 1.10, its answered and abandoned counts), ``agent list``
(each agent's ``contact``, ``status``, ``state`` and ``calls_answered``),
``tier list`` (which agent serves which queue) and ``queue list members
<queue>`` (the callers in a queue).

An agent's name is whatever the site chose (``1001@default``, ``agent-wei``);
the phone that rings is its ``contact`` (``user/1001``,
``[call_timeout=60]user/1001``, ``sofia/internal/1001@10.0.0.5``,
``${sofia_contact(1001@default)}``).  The SIP username is read from the
contact, else from the name (the part before ``@``), unless the profile's
``adapter.agent_usernames`` names it outright.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

Row = dict[str, str]

QUEUE_LIST = "callcenter_config queue list"
AGENT_LIST = "callcenter_config agent list"
TIER_LIST = "callcenter_config tier list"
LOGGED_OUT = ("Logged Out", "Unknown")  # an agent's status: nobody is there to take calls
ON_CALL = ("Receiving", "In a queue call")  # an agent's state: being offered a call, or on one
WAITING = ("Waiting", "Trying")  # a member's (caller's) state while still in the queue
_VARS = re.compile(r"^\s*(?:\{[^{}]*\}|\[[^\[\]]*\]|<[^<>]*>)*")
_CONTACT_FN = re.compile(r"\$\{(?:sofia|verto)_contact\((?:[^()/]*/)?([^()]+)\)\}")


def members_command(queue: str) -> str:
    return f"callcenter_config queue list members {queue}"


class ListingError(ValueError):
    """A ``callcenter_config`` listing that is not header, rows and ``+OK``."""


# mod_callcenter joins a row's values with '|' and escapes none: a caller-ID name, an agent's
# contact (a failover string is 'a|b') or a queue's record template may hold one.  A row
# with more fields than its header has them in the listing's one free-text column.
FREE_TEXT = ("cid_name", "contact", "record_template")


def parse_listing(body: str) -> list[Row]:
    """The rows of a listing, each a dict keyed by the header's column names.

    A row with too many fields is read with the extra '|' inside its free-text column
    (``FREE_TEXT``) when the listing has exactly one; otherwise it is refused.
    """
    lines = [line.rstrip("\r") for line in body.strip("\n").split("\n")]
    if not lines or lines[-1].strip() != "+OK":
        last = lines[-1].strip() if lines else ""
        raise ListingError(f"it does not end with +OK (its last line is {last[:80]!r})")
    if len(lines) == 1:
        return []
    columns = lines[0].split("|")
    if len(columns) < 2 or any(not c.strip() for c in columns):
        raise ListingError(f"its first line is not a header of column names: {lines[0][:80]!r}")
    free = [i for i, c in enumerate(columns) if c in FREE_TEXT]
    rows = []
    for number, line in enumerate(lines[1:-1], start=2):
        values = line.split("|")
        extra = len(values) - len(columns)
        if extra > 0 and len(free) == 1:  # a '|' inside the one free-text value: put it back
            i = free[0]
            values[i:i + extra + 1] = ["|".join(values[i:i + extra + 1])]
        if len(values) != len(columns):
            raise ListingError(f"line {number} has {len(values)} fields where the header names "
                               f"{len(columns)}: {line[:80]!r}")
        rows.append(dict(zip(columns, values, strict=True)))
    return rows


def require(rows: list[Row], columns: Iterable[str]) -> None:
    """Raise ``ListingError`` when the listing has rows but lacks one of ``columns``."""
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise ListingError(f"it has no column {missing[0]!r} (its columns: "
                           f"{', '.join(list(rows[0])[:12])})")


def user_from_contact(contact: str) -> str | None:
    """The SIP user a contact rings: ``[call_timeout=60]user/1001@default`` -> ``1001``."""
    text = _VARS.sub("", contact, count=1).strip()
    found = _CONTACT_FN.search(text)
    if found:
        return _user_part(found.group(1))
    tech, sep, rest = text.partition("/")
    if not sep or not rest:
        return None
    if tech.lower() == "user":
        return _user_part(rest.split("/")[0])
    return _user_part(rest.rstrip("/").rsplit("/", 1)[-1])  # sofia/internal/1001@host: the last


def _user_part(text: str) -> str | None:
    text = text.strip().removeprefix("sip:").removeprefix("sips:")
    return text.split("@")[0].split(";")[0].split(":")[0] or None


def agent_username(name: str, contact: str, named: Mapping[str, str]) -> str:
    """The SIP username of the agent called ``name``: the profile's word, the contact's, the name's."""
    if name in named:
        return named[name]
    return user_from_contact(contact) or name.split("@")[0] or name


def queue_state(queues: list[Row], agents: list[Row], tiers: list[Row],
                members: Mapping[str, list[Row]], named: Mapping[str, str]) -> dict[str, Any]:
    """The listings in the shape of the reference's queue state.

    ``agents`` is keyed by SIP username.  mod_callcenter counts answered calls
    per agent, not per queue, so ``calls_taken`` is the agent's
    ``calls_answered`` (summed when two agents ring the same phone) and a
    queue's ``members`` carry no count.  ``last_call`` is the epoch second
    the agent's last bridge ended, None for never.  ``registered`` is None:
    mod_callcenter does not know whether the phone is registered.
    """
    users = {a.get("name", ""): agent_username(a.get("name", ""), a.get("contact", ""), named)
             for a in agents}
    state: dict[str, Any] = {"agents": {}, "queues": {}}
    for row in queues:
        _queue(state, row.get("name", "")).update(_params(row))
    for agent in agents:
        _agent(state, users[agent.get("name", "")], agent)
    for tier in tiers:
        _tier(state, tier, users, named)
    for queue, rows in members.items():
        _queue(state, queue)["waiting"] = _waiting(rows)
    return state


def _queue(state: dict[str, Any], name: str) -> dict[str, Any]:
    queues: dict[str, dict[str, Any]] = state["queues"]
    return queues.setdefault(name, {"strategy": None, "agents": [], "members": {}, "waiting": []})


def _params(row: Row) -> dict[str, Any]:
    return {"strategy": row.get("strategy") or None, "completed": _int(row.get("calls_answered")),
            "abandoned": _int(row.get("calls_abandoned"))}


def _agent(state: dict[str, Any], user: str, row: Row) -> None:
    status, now = row.get("status", ""), row.get("state", "")
    seat = {"calls_taken": _int(row.get("calls_answered")) or 0,
            "last_call": float(_int(row.get("last_bridge_end")) or 0) or None,
            "logged_in": status not in LOGGED_OUT, "busy": now in ON_CALL,
            "paused": status == "On Break"}
    agent = state["agents"].setdefault(user, {
        "calls_taken": 0, "last_call": None, "registered": None, "logged_in": False,
        "busy": False, "paused": False, "queues": [], "agents": [], "status": status,
        "state": now, "contact": row.get("contact") or None})
    agent["calls_taken"] += seat["calls_taken"]
    agent["last_call"] = max(filter(None, (agent["last_call"], seat["last_call"])), default=None)
    for flag in ("logged_in", "busy", "paused"):
        agent[flag] = agent[flag] or seat[flag]
    agent["agents"].append(row.get("name", ""))


def _tier(state: dict[str, Any], tier: Row, users: Mapping[str, str],
          named: Mapping[str, str]) -> None:
    name, queue_name = tier.get("agent", ""), tier.get("queue", "")
    user = users.get(name) or agent_username(name, "", named)
    queue = _queue(state, queue_name)
    if user not in queue["agents"]:
        queue["agents"].append(user)
    agent = state["agents"].get(user, {})
    queue["members"][user] = {"agent": name, "tier_state": tier.get("state") or None,
                              "level": _int(tier.get("level")),
                              "position": _int(tier.get("position")),
                              "status": agent.get("status"), "state": agent.get("state")}
    if agent and queue_name not in agent["queues"]:
        agent["queues"].append(queue_name)


def _waiting(rows: list[Row]) -> list[dict[str, Any]]:
    callers = sorted((r for r in rows if r.get("state") in WAITING),
                     key=lambda r: (_int(r.get("joined_epoch")) or 0, r.get("uuid", "")))
    return [{"position": i, "joined": _int(r.get("joined_epoch")), "caller": r.get("cid_number"),
             "uuid": r.get("uuid"), "state": r.get("state"), "agent": r.get("serving_agent") or None}
            for i, r in enumerate(callers, start=1)]


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None
