"""The adapter for recordings kept as files in a folder (``adapter: {type: directory}``).

Many sites keep call recordings on a file share the harness host can mount
(NFS, SMB): ``adapter.folder`` is that folder.  A recording's name is its path
under the folder without the extension (``2026/11/28/rec-X`` for
``2026/11/28/rec-X.wav``), its format the extension.

A call's recording is found by its name, as the Asterisk adapter finds it:
``adapter.recording_name`` says how the platform names files (placeholders of
``harness.targets.recording_name``; folders allowed, e.g.
``{start:%Y/%m/%d}/{caller}-{call_id}``).  A name holding the call's SIP
Call-ID identifies it.  Otherwise the candidates are the files whose names
fit and whose time -- the one in the name, or failing that the file's
modification time -- falls in the call's window; they carry no Call-ID, and
the recording check proves which one is the call's by its audio markers.
Without a template, a name containing the Call-ID is the call's and every
other file is a candidate by its time.  When the template's folders are
written from the time alone, only the folders of the window are read.

What a folder cannot show: who else may read it.  Access control of a share
(its export or mount options, the server's permissions) is outside what the
harness can test through a mounted folder, so ``fetch_unauthenticated`` raises
``NotSupported`` saying so, and a scenario against this target sets
``require_auth: false`` and shows the share's permissions to the reviewer by
other means.  The retention policy is the profile's ``adapter.retention_days``
(``retention_days`` is None, and the checks say the profile declared it); the
clock cannot be moved nor a purge asked for.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import TargetError
from harness.targets.adapter import NotSupported, RecordingInfo
from harness.targets.model import Target
from harness.targets.recording_name import AnyName, Names, NameTemplate, Reading, names_from_profile

EXTENSIONS = ("wav", "WAV", "wav49", "WAV49", "gsm", "mp3", "ogg", "opus")
"""Files taken for recordings by default: the formats the harness reads; wav first."""
MAX_FOLDERS = 5000  # more folders than this in a window: read the whole tree instead


@dataclass(frozen=True)
class _File:
    name: str  # path under the folder, without the extension
    ext: str
    mtime: datetime
    size: int


class DirectoryPlatform:
    """Recordings as files under ``folder``, named as ``names`` says."""

    def __init__(self, folder: Path, names: Names, extensions: tuple[str, ...] = EXTENSIONS,
                 profile: Path | None = None) -> None:
        self.folder, self.names, self.extensions, self.profile = folder, names, extensions, profile
        self.description = f"recording folder {folder}"

    @classmethod
    def from_target(cls, target: Target) -> DirectoryPlatform:
        """Built from the profile's ``adapter:`` (folder, recording_name, recording_timezone,
        extensions); a relative folder is under the profile's folder."""
        spec, where = target.adapter, f"target profile {target.path}"
        folder = spec.get("folder")
        if not isinstance(folder, str) or not folder:
            raise TargetError(f"{where}: adapter.folder must be the folder the recordings are in "
                              f"(e.g. /mnt/recordings), not {folder!r}")
        extensions = spec.get("extensions", list(EXTENSIONS))
        if not isinstance(extensions, list) or not extensions or \
                not all(isinstance(e, str) and e and "/" not in e for e in extensions):
            raise TargetError(f"{where}: adapter.extensions must be a list of file extensions "
                              f"without the dot, e.g. [wav, mp3], not {extensions!r}")
        path = Path(os.path.normpath(target.path.parent / folder))
        return cls(path, names_from_profile(spec, where), tuple(e.lstrip(".") for e in extensions), target.path)

    def __repr__(self) -> str:
        return f"DirectoryPlatform({str(self.folder)!r}, names={self.names!r})"

    # -- the folder ------------------------------------------------------------------------
    def _root(self) -> Path:
        if not self.folder.is_dir():
            raise TargetError(f"{self.description} does not exist or is not a folder (hint: is "
                              f"the share mounted on this host? check adapter.folder in "
                              f"{self.profile})")
        return self.folder

    def _files(self, under: Path) -> Iterator[_File]:
        """The recording files under ``under``, however deep; one per name (the first extension
        in ``extensions`` wins)."""
        root, seen = self._root(), dict[str, _File]()
        try:
            for here, dirs, files in os.walk(under, onerror=_raise):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # not hidden ones
                for file in files:
                    found = self._file(root, Path(here) / file)
                    if found is not None and self._rank(found) < self._rank(seen.get(found.name)):
                        seen[found.name] = found
        except OSError as exc:
            raise TargetError(f"{self.description}: cannot read {exc.filename}: {exc.strerror} "
                              f"(hint: the harness's user needs read access to the share)") from None
        yield from seen.values()

    def _rank(self, file: _File | None) -> int:
        return len(self.extensions) if file is None else self.extensions.index(file.ext)

    def _file(self, root: Path, path: Path) -> _File | None:
        stem, dot, ext = path.name.rpartition(".")
        if path.name.startswith(".") or not dot or ext not in self.extensions:
            return None
        try:
            info = path.stat()
        except FileNotFoundError:
            return None  # removed while we looked
        name = (path.parent / stem).relative_to(root).as_posix()
        return _File(name, ext, datetime.fromtimestamp(info.st_mtime, UTC), info.st_size)

    def _folders(self, since: datetime, until: datetime) -> list[Path]:
        """The folders to read for [since, until): those the template's time folders give, or
        the whole tree."""
        root = self._root()
        if not isinstance(self.names, NameTemplate) or \
                not any(n is None and "/" in v for n, v in self.names.parts):
            return [root]
        written = _time_folders(self.names, since, until)
        if written is None:
            return [root]
        return [root / f for f in sorted(written) if (root / f).is_dir()]

    # -- recordings ------------------------------------------------------------------------
    def _read(self, file: _File, call_id: str | None) -> Reading | None:
        reading = self.names.read(file.name, call_id)
        if reading is None and isinstance(self.names, NameTemplate):
            reading = self.names.read(f"{file.name}.{file.ext}", call_id)  # template with its ext
        return reading

    def find_recordings(self, call_id: str | None, since: datetime, until: datetime
                        ) -> list[RecordingInfo]:
        """The call's recording when its name holds ``call_id``; else the candidates of the window.

        With a template that names the Call-ID, only that call's files are
        returned (none yet: ``[]``, and the caller may ask again).  Otherwise
        every file whose name fits and whose time -- the name's, or its
        modification time when the name carries none -- falls in [since,
        until), oldest first, with no Call-ID.
        """
        files = [f for folder in self._folders(since, until) for f in self._files(folder)]
        read = [(f, r) for f in files if (r := self._read(f, call_id)) is not None]
        if call_id is not None:
            mine = [_info(f, r) for f, r in read if r.matched and r.in_window(since, until)]
            if mine or self.names.carries_call_id:
                return mine
        fits = [(f, r) for f, r in read if _in_window(f, r, since, until)]
        fits.sort(key=lambda x: (x[1].started_utc or x[0].mtime, x[0].name))
        return [_info(f, r) for f, r in fits]

    def get_recording(self, name: str) -> RecordingInfo | None:
        parts = _parts(name, self.description)
        for ext in self.extensions:
            found = self._file(self._root(), self.folder.joinpath(*parts[:-1], f"{parts[-1]}.{ext}"))
            if found is not None:
                reading = self._read(found, None) or AnyName(self.names.zone).read(found.name)
                return _info(found, reading)
        return None

    def fetch(self, rec: RecordingInfo, dest: Path) -> Path:
        """A copy of the file under ``dest`` (its folders kept, made if missing)."""
        parts = _parts(rec.name, self.description)
        source = self.folder.joinpath(*parts[:-1], f"{parts[-1]}.{rec.format}")
        target = Path(dest, *parts[:-1], f"{parts[-1]}.{rec.format}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, target)
        except FileNotFoundError:
            raise TargetError(f"{self.description}: recording {rec.name} is no longer there "
                              f"({source} is missing)") from None
        except OSError as exc:
            target.unlink(missing_ok=True)
            raise TargetError(f"{self.description}: cannot copy {source}: {exc.strerror} (hint: "
                              f"the harness's user needs read access to the share)") from None
        return target

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        raise NotSupported(
            f"{self.description}: who may read recording {rec.name} is decided by the file share "
            f"(its export or mount options and the server's permissions), which the harness "
            f"cannot test through a mounted folder, so it does not claim the recordings are "
            f"protected (hint: set require_auth: false on expect_recording for this target, and "
            f"show the reviewer the share's access control separately)")

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
            f"{self.description}: whatever deletes old recordings from the share (a cron job, a "
            f"storage policy) runs outside the harness's reach")

    def queue_state(self) -> dict[str, Any] | None:
        return None


def _raise(error: OSError) -> None:
    raise error


def _parts(name: str, description: str) -> tuple[str, ...]:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts:
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


