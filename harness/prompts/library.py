"""The captured library: ``DIR/<id>.wav`` and ``DIR/prompts.yaml``, never left half-written.

Every file is first written under a temporary name in ``DIR`` and only then
renamed over its final name (a rename within a folder is atomic), the
library last: a reader sees the old file or the new one, and a capture that
fails before the renames leaves ``DIR`` as it was.  Existing files are
replaced only when asked (``--force``); the entries of an existing
``prompts.yaml`` that were not captured again are kept.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.audio.pcm import FloatArray
from harness.audio.wav import write_wav
from harness.errors import SpecError
from harness.targets.model import PromptRef
from harness.targets.profile import load_prompt_library

LIBRARY = "prompts.yaml"


@dataclass(frozen=True)
class Entry:
    """One prompt of the new library: its audio, what it says, and where it was captured."""

    id: str
    audio: FloatArray
    text: str
    lang: str
    comment: str  # one line: where and when it was heard


def in_the_way(out: Path, prompts: Iterable[str]) -> list[Path]:
    """The files in ``out`` that a capture of ``prompts`` would replace."""
    names = [LIBRARY, *(f"{p}.wav" for p in prompts)]
    return [out / n for n in names if (out / n).exists()]


def write_library(out: Path, entries: list[Entry], header: list[str]) -> tuple[Path, list[str]]:
    """Write the entries' WAV files and the library; return its path and the ids kept from before."""
    out.mkdir(parents=True, exist_ok=True)
    kept = _kept(out, {e.id for e in entries})
    staged: list[tuple[Path, Path]] = []
    try:
        for e in entries:
            staged.append((_stage_wav(out, e), out / f"{e.id}.wav"))
        text = _render(out, entries, kept, header)
        staged.append((_stage_text(out, text), out / LIBRARY))
        for temporary, final in staged:
            os.replace(temporary, final)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return out / LIBRARY, sorted(kept)


def _kept(out: Path, captured: set[str]) -> dict[str, PromptRef]:
    """The entries of the library already in ``out`` that this capture does not replace."""
    path = out / LIBRARY
    if not path.exists():
        return {}
    try:
        old = load_prompt_library(path)
    except SpecError:
        return {}  # unreadable: replaced whole, as --force asked
    return {p: ref for p, ref in old.prompts.items() if p not in captured}


def _stage_wav(out: Path, entry: Entry) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{entry.id}.wav.", suffix=".tmp", dir=out)
    os.close(fd)
    write_wav(name, entry.audio)  # 8 kHz mono 16-bit PCM
    return Path(name)


def _stage_text(out: Path, text: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{LIBRARY}.", suffix=".tmp", dir=out)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(name, 0o644)
    return Path(name)


def _render(out: Path, entries: list[Entry], kept: dict[str, PromptRef], header: list[str]) -> str:
    lines = [f"# {_one_line(h)}" for h in header] + ["prompts:"]
    for e in entries:
        lines += _entry(e.id, f"{e.id}.wav", e.text, e.lang, e.comment)
    for p, ref in sorted(kept.items()):
        file = os.path.relpath(ref.file, out.resolve())
        lines += _entry(p, file, ref.text, ref.lang, "kept from the previous prompts.yaml")
    return "\n".join(lines) + "\n"


def _entry(prompt: str, file: str, text: str, lang: str, comment: str) -> list[str]:
    lines = [f"  # {_one_line(comment)}", f"  {prompt}:", f"    file: {_quote(file)}"]
    if text:
        lines.append(f"    text: {_quote(text)}")
    if lang:
        lines.append(f"    lang: {_quote(lang)}")
    return lines


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def utc(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))
