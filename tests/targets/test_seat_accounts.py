"""``seat_accounts:``: the accounts of the seats a seat scenario fills, listed first, then made
from the seat number by a template; without it, the accounts named agent... and caller..."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TargetError
from harness.targets.profile import load_target
from harness.targets.seats import seat_account, seats_available

PROJECT = Path(__file__).resolve().parents[2]


def profile(tmp_path: Path, seat_accounts: str = "") -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(
        "name: t\nplatform: {host: 127.0.0.1}\naccounts:\n"
        '  caller: {username: "1001", password: "${ENV:PW_1001}"}\n'
        '  agent1: {username: "2001", password: "${ENV:PW_2001}"}\n'
        '  backoffice: {username: "3001"}\n'
        '  agent2: {username: "2002", password: "${ENV:PW_2002}"}\n' + seat_accounts,
        encoding="utf-8")
    return path


def test_without_seat_accounts_the_agent_and_caller_accounts_take_the_seats(tmp_path: Path) -> None:
    target = load_target(profile(tmp_path))
    assert [seat_account(target, "agents", n).username for n in (1, 2)] == ["2001", "2002"]
    assert seat_account(target, "callers", 1).username == "1001"
    assert (seats_available(target, "agents"), seats_available(target, "callers")) == (2, 1)
    with pytest.raises(TargetError, match=r"seat 3 has no agent account: target profile .*target.yaml "
                       r"gives 2 \(agent1, agent2\) and no template for more \(hint: seat_accounts: "):
        seat_account(target, "agents", 3)


def test_seats_beyond_the_listed_accounts_come_from_the_template(tmp_path: Path) -> None:
    target = load_target(profile(tmp_path, (
        "seat_accounts:\n"
        "  agents:\n"
        "    accounts: [agent2]\n"
        '    more: {username: "20{n:02d}", password: "${ENV:PW_20{n:02d}}"}\n'
        "  callers:\n"
        '    more: {username: "caller{n}", password: "${ENV:CALLER_PW}", register: false}\n')))
    agents = [seat_account(target, "agents", n) for n in (1, 2, 12)]
    assert [(a.name, a.username, repr(a.password)) for a in agents] == [
        ("agent2", "2002", "${ENV:PW_2002}"), ("agent-seat2", "2002", "${ENV:PW_2002}"),
        ("agent-seat12", "2012", "${ENV:PW_2012}")]
    callers = [seat_account(target, "callers", n) for n in (1, 200)]
    assert [(c.username, repr(c.password), c.register) for c in callers] == [
        ("caller1", "${ENV:CALLER_PW}", False), ("caller200", "${ENV:CALLER_PW}", False)]
    assert seats_available(target, "agents") is None


def test_the_reference_profile_names_every_seat_account_it_has_and_a_template_for_more() -> None:
    target = load_target(PROJECT / "fixtures" / "targets" / "reference.yaml")
    assert target.licence.seats == 4 and target.dids["seats"] == "4105"
    users = [seat_account(target, side, n).username for side in ("agents", "callers") for n in (1, 4, 5)]
    assert users == ["2001", "2004", "2005", "1001", "1004", "1005"]
