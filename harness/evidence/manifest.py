"""The run folder's manifest: the SHA-256 of every file, so a reviewer can tell what changed.

``manifest.json`` lists every file under the run folder (but itself) with its
size and SHA-256, and the manifest's own digest is printed at the end of the
run so that it can be quoted in the application (a changed manifest is then
caught too). :func:`verify` compares a folder with its manifest and names
each changed, missing and added file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.rglob("*") if p.is_file() and p.relative_to(run_dir).as_posix() != MANIFEST)


def write_manifest(run_dir: Path, complete: bool = True) -> tuple[Path, str]:
    """Write ``manifest.json`` (atomically) and return its path and its own SHA-256.

    ``complete`` is false for a run that was interrupted: the seal says so too."""
    entries = {p.relative_to(run_dir).as_posix(): {"sha256": sha256_of(p), "bytes": p.stat().st_size}
               for p in _files(run_dir)}
    body = {"algorithm": "sha256", "run": run_dir.name, "complete": complete, "files": entries}
    path = run_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path, sha256_of(path)


@dataclass
class Verification:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    checked: int = 0
    complete: bool = True  # false: the run was interrupted, whatever the files' state

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.added)

    def lines(self) -> list[str]:
        return ((["INTERRUPTED RUN: the manifest seals the evidence of a run that did not finish"]
                 if not self.complete else [])
                + [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing]
                + [f"added:   {p}" for p in self.added])


def verify(run_dir: Path) -> Verification:
    """Compare the folder with its manifest."""
    path = run_dir / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        listed = body["files"]
    except FileNotFoundError:
        raise HarnessError(f"{run_dir} has no {MANIFEST}: the run was not finished, or it is not a run folder") \
            from None
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"{path}: not a manifest ({exc})") from None
    result = Verification(complete=body.get("complete", True) is not False)
    present = {p.relative_to(run_dir).as_posix(): p for p in _files(run_dir)}
    for name, entry in sorted(listed.items()):
        if name not in present:
            result.missing.append(name)
        elif sha256_of(present[name]) != entry.get("sha256"):
            result.changed.append(name)
        result.checked += 1
    result.added = sorted(set(present) - set(listed))
    return result
