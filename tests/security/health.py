"""Is the reference platform still the one that started, and did any part of it crash?

A crash shows in one of three ways, and each is checked: a process that is
gone (Kamailio's main process, one of its children, a media worker), a
process that was replaced (Kamailio's main process forks its children once,
so a new child pid means one died and Kamailio was restarted around it), or
a line in a log that only a crash writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.reference.conftest import RefPlatform

# Kamailio's main process logs a child that died of a signal; glibc and the kernel name the rest.
_CRASH_LINES = re.compile(
    r"exited by a signal|core was (?:not )?generated|segfault|Segmentation fault|"
    r"Aborted|\bBUG:|\bALERT:|\bCRITICAL:|Traceback \(most recent call last\)|Fatal Python error"
)


@dataclass(frozen=True)
class Processes:
    """The pids of a running platform's parts."""

    kamailio: int
    kamailio_children: frozenset[int]
    workers: frozenset[int]

    def changes_since(self, before: Processes) -> list[str]:
        """What died or was replaced since ``before``, in words (empty: nothing)."""
        problems = []
        if self.kamailio != before.kamailio:
            problems.append(f"Kamailio's main process {before.kamailio} is gone "
                            f"(now {self.kamailio or 'none'})")
        if lost := before.kamailio_children - self.kamailio_children:
            problems.append(f"Kamailio children {sorted(lost)} are gone")
        if new := self.kamailio_children - before.kamailio_children:
            problems.append(f"Kamailio has new children {sorted(new)} (a restart)")
        if lost := before.workers - self.workers:
            problems.append(f"media workers {sorted(lost)} are gone")
        return problems


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pid_in(path: Path) -> int:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return 0
    return pid if _alive(pid) else 0


def processes(ref: RefPlatform) -> Processes:
    """The platform's processes now (0 / empty sets for what is not running)."""
    kamailio = _pid_in(ref.state_dir / "kamailio" / "kamailio.pid")
    supervisor = _pid_in(ref.state_dir / "platform.pid")
    workers = {p for p in children(supervisor) if "fixtures.reference.worker" in _cmdline(p)}
    return Processes(kamailio, frozenset(children(kamailio)) if kamailio else frozenset(),
                     frozenset(workers))


def logs(ref: RefPlatform) -> list[Path]:
    """Kamailio's log and every media worker's."""
    return [ref.state_dir / "kamailio" / "kamailio.log",
            *sorted((ref.state_dir / "workers").glob("worker*.log"))]


def crash_lines(ref: RefPlatform) -> list[str]:
    """Lines of the platform's logs that only a crash (or an unhandled error) writes."""
    found = []
    for log in logs(ref):
        text = log.read_text(errors="replace") if log.exists() else ""
        found += [f"{log.name}: {line}" for line in text.splitlines() if _CRASH_LINES.search(line)]
    return found


def log_lines_with(ref: RefPlatform, needle: str) -> list[str]:
    """Every line of the platform's logs that contains ``needle``."""
    found = []
    for log in logs(ref):
        text = log.read_text(errors="replace") if log.exists() else ""
        found += [f"{log.name}: {line}" for line in text.splitlines() if needle in line]
    return found
