"""Marks the test folders share.

``ON_REFERENCE``: a test module that starts the reference platform (its Kamailio from Debian,
its media workers) and places real SIP calls to it -- the platform tier (tests/conftest.py);
skipped, saying why, where Debian's kamailio package is not installed.
"""

from __future__ import annotations

import shutil

import pytest

ON_REFERENCE = [
    pytest.mark.sip,
    pytest.mark.platform,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]
