"""What the SIP tests share: a switchboard for the test's own phones.

Free ports are plain functions, in ``tests/ports.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sip.controller import Switchboard


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Switchboard]:
    """A switchboard for the test's own phones (their captures in ``tmp_path``), closed after it."""
    switchboard = Switchboard(tmp_path)
    yield switchboard
    switchboard.close()
