"""SIPVicious against the reference platform's SIP front, on loopback only.

svmap finds the server, svwar looks for extensions in 1000-1010 and
2000-2010, svcrack guesses the password of caller 1004 from a small word
list. Nothing may be reachable without credentials, and no word list without
the password may find one. The control proves the tools work against this
very setup: svcrack with a word list that holds the generated password finds
it (the password is compared, never shown; the word list lives in a
temporary folder removed at once, and the binding svcrack's REGISTER leaves,
to ``sip:123@1.1.1.1``, is removed before anything could call 1004).

Every run is bounded: ``-t`` paces it, ``--maximumtime`` ends a silent scan,
and the subprocess has its own timeout. Each binds to 127.0.0.1 (``-b``),
names itself 127.0.0.1 (``-x``, so no host-name lookup) and targets
127.0.0.1 and the fixture's port alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ports import free_udp_port
from tests.reference.conftest import RefPlatform
from tests.security import sipwire

Note = Callable[[str, object], None]  # the ``note`` fixture of conftest.py
HOST = "127.0.0.1"
RUN_TIMEOUT = 60.0  # one tool run; --maximumtime ends each within ~15 s
EXTENSIONS = "1000-1010,2000-2010"
CRACKED = "1004"  # a caller account: no phone of these tests registers or calls it
WORDS = ("password", "123456", "1004", "secret", "letmein", "admin", "qwerty", "changeme",
         "welcome", "2001", "sip", "voip", "reference", "ccref")
# Options that would reach beyond loopback: -A connects to a public host, -R mails the author.
_FORBIDDEN = {"-A", "--autogetip", "-R", "--reportback", "--srv", "--randomscan", "-6"}


def tool(name: str) -> str | None:
    """Debian installs ``svmap`` etc.; upstream's pip package ``sipvicious_svmap`` etc."""
    return shutil.which(f"sipvicious_{name}") or shutil.which(name)


pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
    pytest.mark.skipif(tool("svmap") is None, reason="needs Debian's sipvicious package"),
]


@dataclass(frozen=True)
class Run:
    """One finished run of a SIPVicious tool."""

    argv: list[str]
    returncode: int
    output: str
    seconds: float

    def rows(self) -> list[tuple[str, ...]]:
        """The cells of the result table it printed, header row left out."""
        rows = [tuple(c.strip() for c in line.strip().strip("|").split("|"))
                for line in self.output.splitlines() if line.startswith("|")]
        return rows[1:]

    def shown(self, secret: str = "") -> str:
        """The command and its output for a failure message, ``secret`` blanked."""
        text = f"$ {' '.join(self.argv)}\n(exit {self.returncode}, {self.seconds:.1f}s)\n"
        text += self.output
        return text.replace(secret, "***") if secret else text


def sipvicious(name: str, ref: RefPlatform, home: Path, *args: str) -> Run:
    """Run tool ``name`` against the platform's SIP port on 127.0.0.1, bounded in time."""
    binary = tool(name)
    assert binary is not None
    argv = [binary, "-p", str(ref.sip_port), "-b", HOST, "-x", HOST,
            "-P", str(free_udp_port()), "-t", "0.02", *args, HOST]
    assert not _FORBIDDEN & set(argv), f"an option that leaves loopback: {argv}"
    sipwire.loopback(argv[-1])
    began = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
                          stdin=subprocess.DEVNULL, env={**os.environ, "HOME": str(home)})
    return Run(argv, done.returncode, done.stdout + done.stderr, time.monotonic() - began)


@pytest.fixture
def home() -> Iterator[Path]:
    """A throw-away HOME: SIPVicious keeps sessions (and cracked passwords) under ~/.sipvicious."""
    with tempfile.TemporaryDirectory(prefix="sipvicious-") as folder:
        yield Path(folder)


# -- svmap ---------------------------------------------------------------------------------
def test_svmap_finds_the_sip_server(platform: RefPlatform, home: Path) -> None:
    run = sipvicious("svmap", platform, home)
    assert (f"{HOST}:{platform.sip_port}", "ccref-kamailio") in run.rows(), run.shown()


@pytest.mark.parametrize("number", ["4000", "4001", "2001", "1001"])
def test_svmap_invite_without_credentials_is_only_challenged(
    platform: RefPlatform, home: Path, number: str, note: Note
) -> None:
    run = sipvicious("svmap", platform, home, "-m", "INVITE", "-e", number, "--debug")
    statuses = [line.split()[1] for line in run.output.replace("\\r\\n", "\n").splitlines()
                if line.startswith("b'SIP/2.0 ")]
    note("answers", statuses)
    assert statuses, f"svmap saw no answer to its INVITE:\n{run.shown()}"
    assert set(statuses) <= {"401", "403", "404", "407"}, run.shown()


# -- svwar ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
@pytest.mark.parametrize("force", [False, True], ids=["checked", "forced"])
def test_svwar_finds_no_extension_reachable_without_credentials(
    platform: RefPlatform, home: Path, method: str, force: bool,
    note: Note,
) -> None:
    args = ["-m", method, "-e", EXTENSIONS, "--maximumtime", "5", *(["--force"] if force else [])]
    run = sipvicious("svwar", platform, home, *args)
    found = {row[0]: row[1] for row in run.rows() if len(row) == 2}
    note("extensions found", found)  # information: enumeration is allowed
    note("svwar said", [line for line in run.output.splitlines()
                                   if line.startswith(("ERROR", "WARNING"))])
    assert run.returncode == 0, run.shown()
    reachable = sorted(ext for ext, auth in found.items() if auth == "noauth")
    assert not reachable, f"extensions answered without authentication: {reachable}\n{run.shown()}"


# -- svcrack -------------------------------------------------------------------------------
def _crack(platform: RefPlatform, home: Path, words: list[str]) -> Run:
    wordlist = home / "words.txt"
    wordlist.write_text("\n".join(words) + "\n")
    try:
        return sipvicious("svcrack", platform, home, "-u", CRACKED, "-d", str(wordlist),
                          "--maximumtime", "5")
    finally:
        wordlist.unlink()


def test_svcrack_with_a_wordlist_without_the_password_finds_nothing(
    platform: RefPlatform, home: Path, note: Note
) -> None:
    secret = platform.password(CRACKED)
    if secret in WORDS:
        pytest.fail("the word list must not hold the password")
    run = _crack(platform, home, list(WORDS))
    note("seconds", round(run.seconds, 1))
    assert run.returncode == 0, run.shown(secret)
    assert run.rows() == [], f"svcrack claims a password:\n{run.shown(secret)}"
    assert "found nothing" in run.output, run.shown(secret)


def test_svcrack_finds_the_password_when_the_wordlist_has_it(
    platform: RefPlatform, home: Path
) -> None:
    """The control: the same run, with the generated password among the words, cracks it."""
    secret = platform.password(CRACKED)
    try:
        run = _crack(platform, home, [*WORDS[:7], secret, *WORDS[7:]])
    finally:
        unregistered = sipwire.unregister_all(platform.sip_port, CRACKED, secret)
    cracked = [row for row in run.rows() if len(row) == 2 and row[0] == CRACKED]
    right = len(cracked) == 1 and cracked[0][1] == secret  # compared here, never shown
    assert right, f"svcrack did not find the password it was given:\n{run.shown(secret)}"
    assert unregistered == 200, f"removing svcrack's binding of {CRACKED} answered {unregistered}"
    assert "Address:" not in lookup_location(platform, CRACKED)


def lookup_location(ref: RefPlatform, user: str) -> str:
    """Kamailio's ``ul.lookup`` of ``user``: its live contacts, or an error naming none."""
    workdir = ref.state_dir / "kamailio"
    done = subprocess.run(["kamcmd", "-s", "unix:run/kamailio_ctl", "ul.lookup", "location",
                           f"s:{user}"], cwd=workdir, capture_output=True, text=True,
                          timeout=10, check=False)
    return done.stdout + done.stderr
