"""The adapter for recordings kept as files in a folder (``adapter: {type: directory}``).

Many sites keep call recordings on a file share the harness host can mount
(NFS, SMB): ``adapter.folder`` is that folder.  A recording's name is its path
under the folder without the extension (``2026/11/28/rec-X`` for
``2026/11/28/rec-X.wav``), its format the extension.  How a call's recording
is found -- by a name holding its Call-ID, else among the files of its time
window by its audio markers -- is ``harness.targets.recording_files``, shared
with the SFTP adapter; this module is the folder on this host as a tree.

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
import stat
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from harness.errors import TargetError
from harness.targets.adapter import NotSupported, RecordingInfo
from harness.targets.model import Target
from harness.targets.recording_files import (
    EXTENSIONS,
    Entry,
    RecordingFiles,
    extensions_from_profile,
)
from harness.targets.recording_name import Names, names_from_profile

__all__ = ["EXTENSIONS", "DirectoryPlatform", "LocalTree"]

_READ_HINT = "the harness's user needs read access to the share"


class LocalTree:
    """A folder on this host (a mounted share) as a ``FileTree``."""

    def __init__(self, folder: Path, profile: Path | None = None) -> None:
        self.folder, self.profile = folder, profile
        self.description = f"recording folder {folder}"

    def _path(self, path: str) -> Path:
        return self.folder.joinpath(*PurePosixPath(path).parts)

    def check_root(self) -> None:
        if not self.folder.is_dir():
            raise TargetError(f"{self.description} does not exist or is not a folder (hint: is "
                              f"the share mounted on this host? check adapter.folder in "
                              f"{self.profile})")

    def listdir(self, path: str) -> list[Entry]:
        try:
            with os.scandir(self._path(path)) as found:
                return [e for e in map(_entry, found) if e is not None]
        except NotADirectoryError:
            raise FileNotFoundError(path) from None
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise TargetError(f"{self.description}: cannot read {exc.filename}: {exc.strerror} "
                              f"(hint: {_READ_HINT})") from None

    def stat(self, path: str) -> Entry | None:
        where = self._path(path)
        try:
            info = where.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise TargetError(f"{self.description}: cannot read {where}: {exc.strerror} "
                              f"(hint: {_READ_HINT})") from None
        return Entry(where.name, stat.S_ISDIR(info.st_mode), info.st_size,
                     datetime.fromtimestamp(info.st_mtime, UTC))

    def copy(self, path: str, out: BinaryIO) -> None:
        source = self._path(path)
        try:
            with open(source, "rb") as data:
                shutil.copyfileobj(data, out)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise TargetError(f"{self.description}: cannot copy {source}: {exc.strerror} (hint: "
                              f"{_READ_HINT})") from None


def _entry(found: os.DirEntry[str]) -> Entry | None:
    """A folder (not followed when a link, as ``os.walk`` does) or a file (a link followed)."""
    if found.is_dir(follow_symlinks=False):
        return Entry(found.name, True, 0, datetime.fromtimestamp(0, UTC))
    try:
        if found.is_dir():
            return None  # a link to a folder
        info = found.stat()
    except FileNotFoundError:
        return None  # removed while we looked, or a dangling link
    return Entry(found.name, False, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))


class DirectoryPlatform(RecordingFiles):
    """Recordings as files under ``folder``, named as ``names`` says."""

    def __init__(self, folder: Path, names: Names, extensions: tuple[str, ...] = EXTENSIONS,
                 profile: Path | None = None) -> None:
        super().__init__(LocalTree(folder, profile), names, extensions, profile)
        self.folder = folder

    @classmethod
    def from_target(cls, target: Target) -> DirectoryPlatform:
        """Built from the profile's ``adapter:`` (folder, recording_name, recording_timezone,
        extensions); a relative folder is under the profile's folder."""
        spec, where = target.adapter, f"target profile {target.path}"
        folder = spec.get("folder")
        if not isinstance(folder, str) or not folder:
            raise TargetError(f"{where}: adapter.folder must be the folder the recordings are in "
                              f"(e.g. /mnt/recordings), not {folder!r}")
        path = Path(os.path.normpath(target.path.parent / folder))
        return cls(path, names_from_profile(spec, where), extensions_from_profile(spec, where),
                   target.path)

    def __repr__(self) -> str:
        return f"DirectoryPlatform({str(self.folder)!r}, names={self.names!r})"

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        raise NotSupported(
            f"{self.description}: who may read recording {rec.name} is decided by the file share "
            f"(its export or mount options and the server's permissions), which the harness "
            f"cannot test through a mounted folder, so it does not claim the recordings are "
            f"protected (hint: set require_auth: false on expect_recording for this target, and "
            f"show the reviewer the share's access control separately)")

