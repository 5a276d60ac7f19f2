"""The integration tier: a real Asterisk built from source (opt-in, ``--asterisk=PREFIX``).

``tests/conftest.py`` skips every test here unless ``--asterisk`` (or the
environment's ``CCHARNESS_ASTERISK``) names an installed Asterisk;
``tests/integration/asterisk/build-asterisk.sh`` builds one.  Each PBX is an
:class:`~tests.integration.asterisk.pbx.Asterisk` with its own config, ports
and spool, stopped when its fixture ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.asterisk.pbx import PROJECT, Asterisk, make_root

CCHARNESS = Path(sys.executable).with_name("ccharness")
RUN_TIMEOUT = 900.0  # one `ccharness run` of a suite (each scenario has its own deadline too)
DOCTOR_TIMEOUT = 300.0
SPOOL = 500  # older recordings in the spool before the runs


@pytest.fixture(scope="session")
def asterisk_prefix(request: pytest.FixtureRequest) -> Path:
    """Where the Asterisk under test is installed (``PREFIX/sbin/asterisk``)."""
    given = request.config.getoption("--asterisk")
    prefix = Path(given).resolve()
    if not (prefix / "sbin" / "asterisk").is_file():
        pytest.fail(f"--asterisk={given}: there is no sbin/asterisk under it (build one with "
                    f"tests/integration/asterisk/build-asterisk.sh)", pytrace=False)
    return prefix


@contextmanager
def running(prefix: Path, recording_name: str | None, spool: int = SPOOL) -> Iterator[Asterisk]:
    """An Asterisk whose dialplan names recordings by ``recording_name`` (None: records
    nothing), its spool seeded with ``spool`` older recordings; stopped and removed after."""
    pbx = Asterisk(prefix, make_root(), recording_name)
    try:
        pbx.write_config()
        pbx.seed_spool(spool)
        pbx.start()
        yield pbx
    finally:
        pbx.stop()
        shutil.rmtree(pbx.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pbx(asterisk_prefix: Path) -> Iterator[Asterisk]:
    """The conformant Asterisk: recordings named ``rec-`` and the Call-ID's letters and digits."""
    with running(asterisk_prefix, "rec-{call_id|alnum}") as started:
        yield started


@dataclass(frozen=True)
class Outcome:
    """One ``ccharness`` command: exit code, output, wall time."""

    command: list[str]
    code: int
    output: str
    seconds: float

    @property
    def verdict(self) -> str:
        lines = [line for line in self.output.splitlines() if line.startswith("verdict:")]
        return lines[-1].removeprefix("verdict:").strip() if lines else "(no verdict line)"

    def summary(self) -> str:
        failures = [line for line in self.output.splitlines()
                    if line.startswith(("NOT CONFORMANT", "ERROR", "FAILED"))]
        return (f"{' '.join(self.command[1:3])} exit {self.code} in {self.seconds:.0f}s, "
                f"verdict {self.verdict}:\n" + "\n".join(failures))


def ccharness(pbx: Asterisk, *args: str, timeout: float = RUN_TIMEOUT) -> Outcome:
    """``ccharness ARGS`` with the PBX's passwords in its environment (never on its command line)."""
    command = [str(CCHARNESS), *args]
    env = {**os.environ, **pbx.env}
    began = time.monotonic()
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    return Outcome(command, done.returncode, done.stdout + done.stderr, time.monotonic() - began)
