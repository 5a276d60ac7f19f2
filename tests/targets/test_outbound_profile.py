"""outbound: in a target profile -- where the trunk points, the registered number, the dial prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ProfileError
from harness.targets.model import Secret
from harness.targets.profile import load_target

pytestmark = pytest.mark.unit

HEAD = "name: pbx\nplatform: {host: 127.0.0.1}\n"


def _load(tmp_path: Path, outbound: str) -> object:
    path = tmp_path / "pbx.yaml"
    path.write_text(HEAD + outbound, encoding="utf-8")
    return load_target(path)


def test_a_trunk_the_number_and_the_prefix(tmp_path: Path) -> None:
    target = _load(tmp_path, 'outbound:\n  trunk: {listen: "127.0.0.1:5190"}\n  caller_id: "01062345678"\n'
                             '  dial_prefix: "9"\n')
    out = target.outbound  # type: ignore[attr-defined]
    assert (out.trunk.host, out.trunk.port, out.trunk.transport) == ("127.0.0.1", 5190, "udp")
    assert (out.caller_id, out.dial_prefix, out.trunk.auth) == ("01062345678", "9", None)


def test_a_registering_trunk_keeps_its_password_a_reference(tmp_path: Path) -> None:
    target = _load(tmp_path, 'outbound:\n  trunk:\n    listen: "127.0.0.1:5190"\n'
                             '    auth: {username: carrier, password: "${ENV:CC_TRUNK_PW}"}\n')
    auth = target.outbound.trunk.auth  # type: ignore[attr-defined]
    assert (auth.username, auth.password) == ("carrier", Secret("CC_TRUNK_PW"))


def test_every_problem_names_its_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as err:
        _load(tmp_path, 'outbound:\n  trunk:\n    listen: "pbx.example:5190"\n'
                        '    auth: {username: carrier, password: hunter2}\n'
                        '  caller_id: "010-6234"\n  dial_prefix: "9x"\n')
    text = str(err.value)
    assert "pbx.yaml:5:5: outbound.trunk.listen: 'pbx.example:5190' is not an address and port" in text, text
    assert "pbx.yaml:6:31:" in text and "outbound.trunk.auth.password: a literal password is not allowed" in text
    assert "hunter2" not in text
    assert "pbx.yaml:7:3: outbound.caller_id: '010-6234' is not a telephone number" in text, text
    assert "outbound.dial_prefix: '9x' is not a dial prefix" in text, text


def test_a_profile_without_outbound_has_none(tmp_path: Path) -> None:
    assert _load(tmp_path, "").outbound is None  # type: ignore[attr-defined]


def test_forbidden_hours_as_the_undertaking_writes_them(tmp_path: Path) -> None:
    target = _load(tmp_path, 'outbound:\n  trunk: {listen: "127.0.0.1:5190"}\n  forbidden_hours:\n'
                             '    windows: ["21:00-09:00", "12:00-13:30"]\n    tz: Asia/Shanghai\n'
                             '    days: [sun]\n    holidays: [2026-10-01]\n    clause: "第二条"\n'
                             '  move_clock: false\n')
    out = target.outbound  # type: ignore[attr-defined]
    rules = out.forbidden_hours
    assert [str(w) for w in rules.windows] == ["21:00-09:00", "12:00-13:30"]
    assert (rules.tz.key, rules.days, rules.clause) == ("Asia/Shanghai", frozenset({6}), "第二条")
    assert out.move_clock is False
    assert rules.describe() == "daily 21:00-09:00, 12:00-13:30; all day on sun; 1 holidays (Asia/Shanghai)"


def test_a_national_rule_set_is_chosen_by_name_and_its_zone_can_be_the_called_party_s(tmp_path: Path) -> None:
    target = _load(tmp_path, 'outbound:\n  trunk: {listen: "127.0.0.1:5190"}\n'
                             '  forbidden_hours: {rules: us-47cfr64.1200, tz: America/Chicago}\n')
    rules = target.outbound.forbidden_hours  # type: ignore[attr-defined]
    assert [str(w) for w in rules.windows] == ["21:00-08:00"] and rules.tz.key == "America/Chicago"
    assert "47 CFR 64.1200(c)(1)" in rules.clause


def test_forbidden_hours_problems_name_the_line_and_the_field(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as err:
        _load(tmp_path, 'outbound:\n  trunk: {listen: "127.0.0.1:5190"}\n  forbidden_hours:\n'
                        '    windows: ["21:00-09:00", "9pm-9am"]\n    tz: Beijing\n    days: [someday]\n')
    text = str(err.value)
    assert "outbound.forbidden_hours.windows[1]: '9pm-9am' is not a daily window like '21:00-09:00'" in text, text
    assert "outbound.forbidden_hours.tz: 'Beijing' is not a time zone" in text, text
    assert "outbound.forbidden_hours.days[0]: 'someday' is not a weekday" in text, text
    assert "pbx.yaml:6:" in text, text
    with pytest.raises(ProfileError, match="'nowhere-1999' is not a rule set the harness ships"):
        _load(tmp_path, 'outbound:\n  trunk: {listen: "127.0.0.1:5190"}\n  forbidden_hours: {rules: nowhere-1999}\n')
