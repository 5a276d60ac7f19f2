"""The test tiers (tests/conftest.py): fastest first, and a failure skips the later tiers --
serially and across pytest-xdist workers alike."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

INI = """[pytest]
markers =
    sip: x
    platform: x
    kamailio: x
    unit: x
    loopback: x
    integration: x
"""
# A unit test that fails, and later-tier tests. The first loopback test waits (with a deadline)
# until the failure is on record for every worker, so what follows it is decided, not raced.
TESTS = '''
import time
from pathlib import Path

import pytest
import pytest

def test_unit_passes(): pass
def test_unit_fails(): assert False, "broken"

# later tiers

@pytest.mark.sip
def test_loopback_waits_for_the_failure_on_record(request):
    given = getattr(request.config, "workerinput", {})
    flag = Path(given["ccharness_failed_tier"]) if given else None
    end = time.monotonic() + 30
    while flag is not None and not flag.is_file() and time.monotonic() < end:
        time.sleep(0.05)

@pytest.mark.sip
def test_loopback_later(): pass

@pytest.mark.platform
def test_platform(): pass
'''
PLATFORM_FIRST = '''
import pytest

@pytest.mark.platform
def test_platform_fails(): assert False

def test_unit_after(): pass
'''


def _run(tmp_path: Path, source: str, *args: str) -> str:
    (tmp_path / "pytest.ini").write_text(INI)
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    unit, _, later = source.partition("# later tiers\n")
    (tmp_path / "test_some.py").write_text(unit)
    if later:  # in a file of their own: under --dist loadfile, on the other worker
        (tmp_path / "test_later.py").write_text("import time\nfrom pathlib import Path\nimport pytest\n" + later)
    done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    return done.stdout + done.stderr


def test_a_unit_failure_skips_the_later_tiers(tmp_path: Path) -> None:
    out = _run(tmp_path, TESTS)
    assert "FAILED test_some.py::test_unit_fails" in out, out
    assert "SKIPPED [3] conftest.py" in out and "the unit tier failed: fix it first" in out, out
    assert "1 failed, 1 passed, 3 skipped" in out, out


def test_across_xdist_workers_no_later_tier_test_starts_after_the_failure(tmp_path: Path) -> None:
    out = _run(tmp_path, TESTS, "-n", "2", "--dist", "loadfile")  # a file per worker
    assert "FAILED test_some.py::test_unit_fails" in out, out
    assert "PASSED test_later.py::test_loopback_waits_for_the_failure_on_record" in out, out
    assert "the unit tier failed: fix it first" in out and "1 failed, 2 passed, 2 skipped" in out, out


def test_all_tiers_runs_them_all(tmp_path: Path) -> None:
    out = _run(tmp_path, TESTS, "--all-tiers")
    assert "1 failed, 4 passed" in out, out


def test_a_later_tier_failing_first_skips_no_earlier_tier(tmp_path: Path) -> None:
    out = _run(tmp_path, PLATFORM_FIRST)  # sorted: the unit test runs first all the same
    assert "PASSED test_some.py::test_unit_after" in out and "1 failed, 1 passed" in out, out


INTEGRATION = '''
import pytest

@pytest.mark.integration
def test_real_pbx(request): assert request.config.getoption("--asterisk") == "/opt/pbx"

def test_unit(): pass
'''


def test_the_integration_tier_is_skipped_unless_an_asterisk_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CCHARNESS_ASTERISK", raising=False)
    out = _run(tmp_path, INTEGRATION)
    assert "SKIPPED [1] test_some.py" in out and "opt-in: give an installed Asterisk" in out, out
    assert "1 passed, 1 skipped" in out, out
    out = _run(tmp_path, INTEGRATION, "--asterisk=/opt/pbx")
    assert "2 passed" in out, out
