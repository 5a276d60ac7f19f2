"""The host's CPU pressure (PSI): read from the kernel's file, and turned into a share of time."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.runner.host import Pressure, busy_share, pressure_now

SAMPLE = "some avg10=0.00 avg60=0.68 avg300=3.14 total=12817557290\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"


def test_the_some_total_is_read(tmp_path: Path) -> None:
    psi = tmp_path / "cpu"
    psi.write_text(SAMPLE)
    reading = pressure_now(psi)
    assert reading is not None and reading.stalled_us == 12817557290


def test_a_kernel_without_psi_gives_no_reading(tmp_path: Path) -> None:
    assert pressure_now(tmp_path / "absent") is None
    (tmp_path / "odd").write_text("some avg10=0.00 total=lots\n")
    assert pressure_now(tmp_path / "odd") is None


def test_the_share_is_the_stall_time_over_the_time_elapsed() -> None:
    assert busy_share(Pressure(10.0, 1_000_000), Pressure(12.0, 1_500_000)) == 0.25
    assert busy_share(Pressure(10.0, 0), Pressure(11.0, 5_000_000)) == 1.0  # several tasks waiting count once
    assert busy_share(None, Pressure(12.0, 1)) is None
    assert busy_share(Pressure(10.0, 0), Pressure(10.05, 1)) is None  # too short to say


def test_this_machine_has_a_reading_that_grows() -> None:
    first = pressure_now()
    if first is None:
        pytest.skip("this kernel keeps no CPU pressure (PSI)")
    later = pressure_now()
    assert later is not None and later.stalled_us >= first.stalled_us and later.t >= first.t
