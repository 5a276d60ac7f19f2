"""Workarounds for bugs in pjsua2 2.15.1, the one ``pjsua2-python`` wheel that installs.

Shared by the harness's phones (``harness/sip``) and the reference platform
(``fixtures/reference``), which must not import each other: both play WAV files
into calls, and both hit the same bug.  Each workaround names the upstream issue
and the release that fixes it, so it can go when the wheel moves past that.
"""
