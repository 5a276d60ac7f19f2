"""The security tests run against real reference platforms, started as the reference tests start
theirs: one per module, with its own state directory and lock-reserved port block."""

from collections.abc import Callable

import pytest

from tests.reference.conftest import _platforms_stopped, desk_for, platform

__all__ = ["_platforms_stopped", "desk_for", "note", "platform"]

Note = Callable[[str, object], None]


@pytest.fixture
def note(request: pytest.FixtureRequest) -> Note:
    """``note(name, value)``: information a test found (what a target answered, what a
    scanner listed), kept in the report's user properties and never judged."""

    def keep(name: str, value: object) -> None:
        request.node.user_properties.append((name, value))

    return keep
