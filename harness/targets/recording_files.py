"""Recordings kept as files in a tree of folders, wherever the tree is.

The directory adapter reads a folder mounted on this host
(``harness.targets.directory``), the SFTP adapter a folder on an SFTP server
(``harness.targets.sftp``); both find, date and download recordings the same
way, here, over a ``FileTree`` -- the three things a tree must do: list a
folder, stat a path, copy a file's bytes out.

A recording's name is its path under the tree's root without the extension
(``2026/11/28/rec-X`` for ``2026/11/28/rec-X.wav``), its format the extension.
A call's recording is found by its name: ``adapter.recording_name`` says how
the platform names files (placeholders of ``harness.targets.recording_name``;
folders allowed, e.g. ``{start:%Y/%m/%d}/{caller}-{call_id}``).  A name holding
the call's SIP Call-ID identifies it.  Otherwise the candidates are the files
whose names fit and whose time -- the one in the name, or failing that the
file's modification time -- falls in the call's window; they carry no Call-ID,
and the recording check proves which one is the call's by its audio markers.
Without a template, a name containing the Call-ID is the call's and every
other file is a candidate by its time.  When the template's folders are
written from the time alone, only the folders of the window are read.

Names come from listings the harness does not control (a file server may list
anything), so a listed name that is hidden, ``.``, ``..`` or holds a ``/`` is
skipped, and a recording name that would lead out of the download folder is
refused before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol

from harness.errors import TargetError
from harness.targets.adapter import NotSupported, RecordingInfo
from harness.targets.capability import Capability
from harness.targets.model import Target
from harness.targets.recording_name import AnyName, Names, NameTemplate, Reading

EXTENSIONS = ("wav", "WAV", "wav49", "WAV49", "gsm", "mp3", "ogg", "opus")
"""Files taken for recordings by default: the formats the harness reads; wav first."""
MAX_FOLDERS = 5000  # more folders than this in a window: read the whole tree instead


@dataclass(frozen=True)
class Entry:
    """One file or folder, as the tree lists or stats it (links followed)."""

    name: str  # its last path part, as the tree gave it: not yet checked
    is_dir: bool
    size: int
    mtime: datetime  # UTC


class FileTree(Protocol):
    """Read access to a tree of folders; paths are POSIX paths under its root, ``""`` the root."""

    description: str  # for messages: "recording folder /mnt/rec", "SFTP folder /rec on h:22"

    def check_root(self) -> None:
        """Raise ``TargetError`` (with a hint) unless the root is a folder that can be read."""

    def listdir(self, path: str) -> list[Entry]:
        """The folder's files and folders (a link to a folder is left out, so no loop is
        walked); ``FileNotFoundError`` when there is no such folder, ``TargetError`` when it
        cannot be read."""

    def stat(self, path: str) -> Entry | None:
        """The file or folder at ``path``; None when there is none."""

    def copy(self, path: str, out: BinaryIO) -> None:
        """Write the file's bytes to ``out``; ``FileNotFoundError`` when it is gone,
        ``TargetError`` for anything else that stops it."""


@dataclass(frozen=True)
class _File:
    name: str  # path under the root, without the extension
    ext: str
    mtime: datetime
    size: int


class RecordingFiles:
    """The ``Platform`` methods for recordings that are files in ``tree``, named as ``names``
    says; an adapter adds how the tree is reached and ``fetch_unauthenticated``."""

    holder = "the share"  # what keeps the files, for messages

    def __init__(self, tree: FileTree, names: Names, extensions: tuple[str, ...] = EXTENSIONS,
                 profile: Path | None = None) -> None:
        self.tree, self.names, self.extensions, self.profile = tree, names, extensions, profile
        self.description = tree.description

    @classmethod
    def capabilities(cls, target: Target) -> frozenset[Capability]:
        """What this adapter can do for ``target``, from its profile alone (nothing is asked of the
        platform)."""
        return frozenset({Capability.RECORDINGS})

    # -- the tree --------------------------------------------------------------------------
    def _files(self, under: str) -> Iterator[_File]:
        """The recording files under ``under``, however deep; one per name (the first extension
        in ``extensions`` wins)."""
        seen: dict[str, _File] = {}
        pending = [under]
        while pending:
            here = pending.pop()
            try:
                entries = self.tree.listdir(here)
            except FileNotFoundError:
                continue  # a window's folder not made, or removed while we looked
            for entry in entries:
                if not _plain(entry.name):
                    continue
                if entry.is_dir:
                    pending.append(_join(here, entry.name))
                elif (found := self._file(here, entry)) is not None and \
                        self._rank(found) < self._rank(seen.get(found.name)):
                    seen[found.name] = found
        yield from seen.values()

    def _rank(self, file: _File | None) -> int:
        return len(self.extensions) if file is None else self.extensions.index(file.ext)

    def _file(self, folder: str, entry: Entry) -> _File | None:
        stem, dot, ext = entry.name.rpartition(".")
        if entry.is_dir or not _plain(entry.name) or not dot or ext not in self.extensions:
            return None
        return _File(_join(folder, stem), ext, entry.mtime, entry.size)

    def _folders(self, since: datetime, until: datetime) -> list[str]:
        """The folders to read for [since, until): those the template's time folders give, or
        the whole tree (``""``)."""
        self.tree.check_root()
        if not isinstance(self.names, NameTemplate) or \
                not any(n is None and "/" in v for n, v in self.names.parts):
            return [""]
        written = _time_folders(self.names, since, until)
        return [""] if written is None else sorted(written)

    def _read(self, file: _File, call_id: str | None,
              identities: Mapping[str, str] | None = None) -> Reading | None:
        reading = self.names.read(file.name, call_id, identities)
        if reading is None and isinstance(self.names, NameTemplate):
            reading = self.names.read(f"{file.name}.{file.ext}", call_id, identities)  # with its ext
        return reading

    # -- recordings ------------------------------------------------------------------------
    def find_recordings(self, call_id: str | None, since: datetime, until: datetime,
                        identities: Mapping[str, str] | None = None) -> list[RecordingInfo]:
        """The call's recording when its name holds ``call_id``; else the candidates of the window.

        With a template that names the Call-ID, only that call's files are
        returned (none yet: ``[]``, and the caller may ask again).  Otherwise
        every file whose name fits and whose time -- the name's, or its
        modification time when the name carries none -- falls in [since,
        until), oldest first, with no Call-ID.
        """
        files = [f for folder in self._folders(since, until) for f in self._files(folder)]
        read = [(f, r) for f in files if (r := self._read(f, call_id, identities)) is not None]
        if call_id is not None:
            mine = [_info(f, r) for f, r in read if r.matched and r.in_window(since, until)]
            if mine or self.names.carries_call_id:
                return mine
        fits = [(f, r) for f, r in read if _in_window(f, r, since, until)]
        fits.sort(key=lambda x: (x[1].started_utc or x[0].mtime, x[0].name))
        return [_info(f, r) for f, r in fits]

    def get_recording(self, name: str) -> RecordingInfo | None:
        parts = _parts(name, self.description)
        self.tree.check_root()
        folder = "/".join(parts[:-1])
        for ext in self.extensions:
            entry = self.tree.stat(_join(folder, f"{parts[-1]}.{ext}"))
            found = self._file(folder, entry) if entry is not None else None
            if found is not None:
                reading = self._read(found, None) or AnyName(self.names.zone).read(found.name)
                return _info(found, reading)
        return None

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        """A copy of the file under ``dest`` (its folders kept, made if missing).

        The bytes go to a hidden temporary file beside the target, renamed into
        place once whole, so a broken download never leaves a file that looks
        like a recording.  The recording check hashes the file it is given
        (SHA-256, kept in the evidence), so it is not hashed twice here.
        """
        parts = _parts(rec.name, self.description)
        if rec.format not in self.extensions:
            raise TargetError(f"{self.description}: refusing recording {rec.name!r} of format "
                              f"{rec.format!r}, not one of adapter.extensions")
        file = f"{parts[-1]}.{rec.format}"
        target = Path(dest, *parts[:-1], file)
        if not target.resolve().is_relative_to(Path(dest).resolve()):
            raise TargetError(f"{self.description}: refusing recording name {rec.name!r}, which "
                              f"points outside the download folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=f".{file}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                self.tree.copy("/".join((*parts[:-1], file)), out)
            os.replace(partial, target)
        except FileNotFoundError:
            raise TargetError(f"{self.description}: recording {rec.name} is no longer there "
                              f"({'/'.join((*parts[:-1], file))} is missing)") from None
        finally:
            Path(partial).unlink(missing_ok=True)
        return target

    # -- retention, clock, queues ------------------------------------------------------------
    def retention_days(self) -> int | None:
        """None: a folder has no policy; the checks take ``adapter.retention_days``, saying so."""
        return None

    def set_clock_offset(self, days: float) -> None:
        raise NotSupported(
            f"{self.description}: a folder of files has no clock to move, so keeping recordings "
            f"for the required days cannot be shown by moving time; the retention canaries "
            f"(verify_canaries) show it as the days really pass")

    def purge(self) -> list[str]:
        raise NotSupported(
            f"{self.description}: whatever deletes old recordings from {self.holder} (a cron "
            f"job, a storage policy) runs outside the harness's reach")

    def queue_state(self) -> dict[str, Any] | None:
        return None


def extensions_from_profile(spec: Any, where: str) -> tuple[str, ...]:
    """``adapter.extensions`` (default ``EXTENSIONS``), without dots."""
    extensions = spec.get("extensions", list(EXTENSIONS))
    if not isinstance(extensions, list) or not extensions or \
            not all(isinstance(e, str) and e and "/" not in e for e in extensions):
        raise TargetError(f"{where}: adapter.extensions must be a list of file extensions "
                          f"without the dot, e.g. [wav, mp3], not {extensions!r}")
    return tuple(e.lstrip(".") for e in extensions)


def _plain(name: str) -> bool:
    """A listed name that is one visible path part (not hidden, ``.``, ``..``, nor holding ``/``)."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\0" not in name


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _parts(name: str, description: str) -> tuple[str, ...]:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts or "\0" in name:
        raise TargetError(f"{description}: refusing recording name {name!r}, which points "
                          f"outside the folder")
    return parts


def _in_window(file: _File, reading: Reading, since: datetime, until: datetime) -> bool:
    if reading.started_utc is not None:
        return reading.in_window(since, until)
    return since <= file.mtime < until  # the file was last written as the call ended


def _info(file: _File, reading: Reading) -> RecordingInfo:
    return RecordingInfo(name=file.name, call_id=reading.call_id, started_utc=reading.started_utc,
                         duration_s=None, sha256=None, size=file.size, format=file.ext,
                         created_utc=file.mtime)


def _time_folders(names: NameTemplate, since: datetime, until: datetime) -> set[str] | None:
    """The folder paths the template writes for times in [since, until), when its folders are
    written from literals and ``{start:FORMAT}`` alone (and the file's part writes no ``/``);
    else None."""
    cut = max(i for i, (name, text) in enumerate(names.parts) if name is None and "/" in text)
    head = names.parts[:cut] + [(None, names.parts[cut][1].rpartition("/")[0])]
    tail = names.parts[cut + 1:]
    if any(name not in (None, "start") or fmt == "%s" for name, fmt in head) or \
            any(name == "start" and "/" in fmt for name, fmt in tail):
        return None
    formats = [fmt for name, fmt in head if name is not None]
    step = timedelta(seconds=1 if any("%S" in f for f in formats) else 60)
    if (until - since) / step > MAX_FOLDERS * 60:
        return None
    written, moment = set(), since
    while moment < until + step:
        local = moment.astimezone(names.zone)
        written.add("".join(local.strftime(v) if n else v for n, v in head))
        moment += step
    return written if len(written) <= MAX_FOLDERS else None
