"""The FreeSWITCH adapter against the bytes FreeSWITCH's own code writes (``tests/data/freeswitch``).

No FreeSWITCH was captured: the files are built from mod_event_socket.c and
mod_callcenter.c (their README names the commit and the lines), and the fake
event socket of ``test_freeswitch_adapter`` sends them as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError
from harness.targets.callcenter import AGENT_LIST, QUEUE_LIST, TIER_LIST, members_command
from harness.targets.registry import adapter_for
from tests.targets.test_freeswitch_adapter import (
    AUTH_BAD,
    AUTH_OK,
    BYE,
    DISCONNECT,
    ENV,
    GREETING,
    PASSWORD,
    EslServer,
    target,
)

DATA = Path(__file__).parents[1] / "data" / "freeswitch"
LISTINGS = {
    QUEUE_LIST: "api-queue-list",
    AGENT_LIST: "api-agent-list",
    TIER_LIST: "api-tier-list",
    members_command("sales@default"): "api-members-sales",
    members_command("support@default"): "api-members-support",
}
LISTINGS_BY_KEY = {"queues": QUEUE_LIST, "agents": AGENT_LIST, "tiers": TIER_LIST,
                   "sales": members_command("sales@default"),
                   "support": members_command("support@default")}


def wire(name: str) -> str:
    return (DATA / f"{name}.esl").read_bytes().decode()


@pytest.fixture
def esl(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., EslServer]]:
    monkeypatch.setenv(ENV, PASSWORD)
    servers: list[EslServer] = []

    def start(**files: str) -> EslServer:
        """A fake event socket answering each listing from its file; ``files`` overrides some."""
        chosen = {**LISTINGS, **{LISTINGS_BY_KEY[k]: v for k, v in files.items()}}
        servers.append(EslServer(replies={cmd: wire(name) for cmd, name in chosen.items()}))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    assert [e for s in servers for e in s.errors] == []


def queue_state(server: EslServer) -> dict[str, Any]:
    state = adapter_for(target(server.port)).queue_state()
    assert state is not None
    return state


def test_the_fakes_framing_is_the_sources() -> None:
    assert wire("greeting") == GREETING and wire("auth-accepted") == AUTH_OK
    assert wire("auth-invalid") == AUTH_BAD + DISCONNECT and wire("exit") == BYE + DISCONNECT
    head, _, body = wire("api-tier-list").partition("\n\n")
    assert head == f"Content-Type: api/response\nContent-Length: {len(body.encode())}"


def test_the_adapter_sends_what_the_event_socket_reads(esl: Callable[..., EslServer]) -> None:
    server = esl()
    queue_state(server)
    assert server.commands == [f"auth {PASSWORD}", f"api {QUEUE_LIST}", f"api {AGENT_LIST}",
                               f"api {TIER_LIST}", f"api {members_command('sales@default')}",
                               f"api {members_command('support@default')}", "exit"]


def test_agents_queues_and_tiers_from_the_listings(esl: Callable[..., EslServer]) -> None:
    state = queue_state(esl())
    agents, queues = state["agents"], state["queues"]
    assert sorted(agents) == ["1001", "1002", "1003", "13800138000"]
    assert {a: (v["calls_taken"], v["logged_in"], v["busy"], v["paused"]) for a, v in agents.items()} == {
        "1001": (2, True, False, False), "1002": (1, True, True, False),  # In a queue call
        "1003": (0, True, True, False),  # Receiving: offered a call
        "13800138000": (0, True, False, True)}  # On Break
    assert agents["1001"]["last_call"] == 1796378700.0 and agents["1002"]["last_call"] is None
    assert (queues["support@default"]["strategy"], queues["sales@default"]["strategy"]) == \
        ("longest-idle-agent", "ring-all")
    assert (queues["support@default"]["completed"], queues["support@default"]["abandoned"]) == (3, 1)
    assert queues["sales@default"]["agents"] == ["1002", "1003", "13800138000"]
    assert queues["sales@default"]["members"]["1003"]["tier_state"] == "Offering"
    assert queues["support@default"]["waiting"] == []  # the listing was +OK alone


def test_a_caller_ringing_a_ring_all_queue_is_served_by_no_one_agent(
        esl: Callable[..., EslServer]) -> None:
    """mod_callcenter writes the strategy's name, ``ring-all``, into a member's
    ``serving_agent`` while it rings all agents: that is not an agent's name."""
    waiting = queue_state(esl())["queues"]["sales@default"]["waiting"]
    assert waiting == [{"position": 1, "joined": 1796378765, "caller": "1005", "state": "Trying",
                        "uuid": "0b1e6c7a-2f5d-4e8b-9c3a-5d6e7f8a9b0c", "agent": None}]


def test_without_mod_callcenter_the_answer_names_the_module(esl: Callable[..., EslServer]) -> None:
    server = esl(queues="api-not-found")
    with pytest.raises(TargetError, match=r"answered 'api callcenter_config queue list' with '-ERR "
                                          r"callcenter_config Command not found!' \(hint: is "
                                          r"mod_callcenter loaded\?"):
        queue_state(server)


def test_a_caller_id_name_with_a_pipe_does_not_hide_the_queue(esl: Callable[..., EslServer]) -> None:
    waiting = queue_state(esl(support="api-members-support-pipe-in-name"))["queues"]["support@default"]
    assert [(w["caller"], w["state"]) for w in waiting["waiting"]] == [("1006", "Waiting")]


def test_a_failover_contact_rings_its_first_user(esl: Callable[..., EslServer]) -> None:
    agents = queue_state(esl(agents="api-agent-list-failover-contact"))["agents"]
    assert agents["1001"]["contact"] == "user/1001@default|sofia/gateway/backup/1001"
