"""No password, digest response or Authorization header reaches any file of a run folder.

Runs ``ccharness run`` against the bundled reference platform -- digest
authentication through Kamailio for every phone, HTTP basic authentication to
the recording API -- with the scenarios that use every secret, renders the
evidence, then searches every byte of every file under the run folder
(records, traces, phone logs, Allure results and report, HTML, PDF, SRT,
manifest) for each secret the platform generated, in plain text and in the
encodings a leak would take.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ROOT / "var" / "reference" / "secrets.env"
pytestmark = [pytest.mark.sip, pytest.mark.platform]


def _secrets() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in SECRETS.read_text().splitlines()
             if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_a_suite_run_leaves_no_secret_in_any_file(tmp_path: Path, default_reference: None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--reports", str(tmp_path), "--run-id", "secrets",
         "-k", "both_parties or sales_queue_agent_answers"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    secrets = _secrets()
    assert secrets and all(len(v) >= 8 for v in secrets.values()), "the platform's secrets were not generated"
    needles = {}
    for name, value in secrets.items():
        needles[name] = value.encode()
        needles[f"{name} (base64 admin:...)"] = base64.b64encode(f"admin:{value}".encode())
    files = [p for p in (tmp_path / "secrets").rglob("*") if p.is_file()]
    assert len(files) > 20 and any(p.suffix == ".pdf" for p in files)
    leaks = [f"{p.relative_to(tmp_path)}: {what}" for p in files for what, needle in needles.items()
             if needle in p.read_bytes()]
    assert leaks == []
    header = re.compile(rb"(Proxy-)?Authorization:\s*(Digest|Basic)\s+(?!\[redacted\])\S", re.IGNORECASE)
    unredacted = [str(p.relative_to(tmp_path)) for p in files if header.search(p.read_bytes())]
    assert unredacted == []
    assert not any(v in done.stdout + done.stderr for v in secrets.values())
