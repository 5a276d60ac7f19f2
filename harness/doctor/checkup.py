"""What the doctor's checks share in one run: the state they pass on, the phones they share.

The checks run in order (``harness.doctor.examination``); a check that cannot run
because an earlier one failed says so (``skipped``) instead of failing again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.sip.controller import Switchboard
from harness.sip.options import NoAnswer, Reply
from harness.targets.model import Account, PromptLibrary, Target


@dataclass
class Checkup:
    """What the checks of one run know, and what they leave for the later ones."""

    target: Target
    prompts: PromptLibrary | None
    work: Path
    did: str  # the DID name the test call dials ("" when the profile has none)
    board: Switchboard
    address: str | None = None  # the platform's address, once resolved
    reachable: bool = False
    reply: Reply | None = None  # the answer to OPTIONS
    probe_error: NoAnswer | None = None
    phones: dict[str, str] = field(default_factory=dict)  # account name -> its phone, started
    registered: dict[str, bool] = field(default_factory=dict)  # account name -> registered
    answered: dict[str, bool] = field(default_factory=dict)  # DID name -> test call answered
    api_ok: bool = False  # the recording API answered (check 6)
    _handles: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def handle(self) -> str:
        """A fresh call handle for the caller's phone."""
        return f"doctor{next(self._handles)}"

    def caller(self) -> Account | None:
        """The account that places the test calls: ``caller`` if there is one, else the first."""
        accounts = self.target.accounts
        if "caller" in accounts:
            return accounts["caller"]
        callers = [a for name, a in accounts.items() if name.startswith("caller")]
        return next(iter(callers or accounts.values()), None)
