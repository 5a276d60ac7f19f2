"""The media worker pool behind Kamailio's dispatcher, over real calls.

A worker holds two conversations (four pjsua2 calls, the library's cap); a
caller must be refused only when every worker is full, never because the
dispatcher's round robin happened to pick the full one.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from fixtures.reference.priority import MEDIA_NICE
from harness.sip.config import Behaviour
from harness.sip.priority import group_level
from harness.sip.timeline import CallTimeline
from tests.reference.conftest import MAIN, SALES, Desk, RefPlatform

SUPPORT = "4002"

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

_CONTACT = re.compile(r"^(?:Contact|m)\s*:.*?sip:(worker\d+)@", re.IGNORECASE | re.MULTILINE)


def worker_of(desk: Desk, call: CallTimeline) -> str:
    """Which media worker answered ``call`` (the Contact of the 200 OK the caller got)."""
    for event in desk.board.sip_trace(call):
        if event.data["dir"] == "RX" and event.data["first_line"].startswith("SIP/2.0 200"):
            found = _CONTACT.search(event.data["text"])
            if found:
                return found.group(1)
    raise AssertionError(f"no 200 OK with a worker's Contact on {call}")


def test_a_full_worker_hands_callers_to_the_others(platform: RefPlatform, desk: Desk) -> None:
    desk.start({a: Behaviour() for a in ("2001", "2002", "2003", "2004")}, callers=2)
    # sales rings 2001..2003, support (ring-all) the one of 2002..2004 still free
    held = [desk.queue_call(did, f"caller{'1' if n % 2 else ''}")
            for n, did in enumerate((SALES, SALES, SALES, SUPPORT))]
    by_worker: dict[str, list[tuple[CallTimeline, str, CallTimeline]]] = {}
    for call, agent, leg in held:
        by_worker.setdefault(worker_of(desk, call), []).append((call, agent, leg))
    full = max(by_worker, key=lambda w: len(by_worker[w]))  # 4 calls on 3 workers: one has 2
    assert len(by_worker[full]) == 2, by_worker
    for worker, calls in by_worker.items():
        if worker != full:
            for call, _, leg in calls:
                desk.finish(call, leg)
    answered_by = []
    for _ in range(8):  # round robin comes to the full worker more than once
        call = desk.dial(MAIN, "caller1")
        desk.get(desk.until_settled(call))
        status = call.final_status()
        assert call.state == "CONFIRMED", f"refused with {status} while two workers were idle"
        answered_by.append(worker_of(desk, call))
        desk.hang_up(call)
    assert full not in answered_by
    for call, _, leg in by_worker[full]:
        desk.finish(call, leg)



def test_the_platform_and_its_children_run_before_ordinary_work(platform: RefPlatform) -> None:
    """As root the platform asks for nice -10 (as a PBX runs its media), and Kamailio and the
    media workers inherit it: a busy host's other work does not delay a prompt's RTP."""
    main = int((platform.state_dir / "platform.pid").read_text())
    children = [int(p) for p in Path(f"/proc/{main}/task/{main}/children").read_text().split()]
    assert children, "the platform started no process"
    expected = MEDIA_NICE if os.geteuid() == 0 else 0
    levels = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in [main, *children]}
    assert set(levels.values()) == {expected}, levels
    # Under autogroup nice only ranks one session's processes: the platform's session and
    # Kamailio's (its own) must run at the same level as their groups.
    leaders = {os.getsid(pid) for pid in [main, *children]}
    assert main in leaders and len(leaders) == 2, f"sessions {leaders}: the platform's and Kamailio's"
    groups = {leader: group_level(leader) for leader in leaders}
    if None not in groups.values():  # None: the kernel has no autogroup
        assert set(groups.values()) == {expected}, f"session groups' nice levels: {groups}"
