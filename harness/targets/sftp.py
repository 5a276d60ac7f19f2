"""The adapter for recordings kept as files on an SFTP server (``adapter: {type: sftp}``).

Sites whose recorder writes to a server the harness host cannot mount often
offer it over SFTP.  ``adapter.folder`` is the recordings' folder on the
server, as the SFTP user sees it (after any chroot; a relative folder is under
the user's login folder).  Recordings are found, dated and downloaded exactly
as the directory adapter does it over a mounted folder
(``harness.targets.recording_files``): by a name holding the call's Call-ID,
else among the files of the call's time window by the call's audio markers.

The connection (``harness.targets.sftp_session``, paramiko) is made at the
first request and kept for the adapter's life -- the recording step lists the
folder every half second while it waits, then downloads -- and made anew when
the server has dropped it; ``close()`` ends it, and so does dropping the
adapter.  Every request waits at most ``adapter.timeout``.

Downloads without credentials: SFTP has no anonymous download, but an SSH
server can let a client in that offers no credentials at all (the ``none``
login; a misconfigured server or an empty password does it).
``fetch_unauthenticated`` tries exactly that, as ``adapter.username``, and
answers as HTTP would: 401 when the server refuses -- every properly set up
server does, so ``require_auth: true`` (the default) passes -- or, when it lets
the nobody in, 200, 403 or 404 for reading the recording, and a 200 fails the
check.  What it cannot show is which other accounts of the server may read
the folder: show the reviewer its permissions separately.  The retention
policy is the profile's ``adapter.retention_days``; the clock cannot be moved
nor a purge asked for.
"""

from __future__ import annotations

import posixpath
import stat
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self, TypeVar

import paramiko

from harness.errors import TargetError
from harness.targets.adapter import RecordingInfo
from harness.targets.capability import Capability
from harness.targets.model import Secret, Target
from harness.targets.recording_files import (
    EXTENSIONS,
    Entry,
    RecordingFiles,
    extensions_from_profile,
)
from harness.targets.recording_name import Names, names_from_profile
from harness.targets.sftp_session import (
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    SftpAccess,
    SftpSession,
    open_session,
    status_without_credentials,
)

T = TypeVar("T")
_FINGERPRINT = "SHA256:"


class SftpTree:
    """A folder on an SFTP server as a ``FileTree``, over one kept connection."""

    def __init__(self, access: SftpAccess, folder: str) -> None:
        self.access, self.folder = access, folder.rstrip("/") or "/"
        self.description = f"SFTP folder {self.folder} on {access.address}"
        self._session: SftpSession | None = None
        self._closer: weakref.finalize[Any, Any] | None = None

    def close(self) -> None:
        """End the connection, if there is one."""
        if self._closer is not None:
            self._closer()  # closes the session once, however often called
        self._session = self._closer = None

    def _client(self) -> paramiko.SFTPClient:
        if self._session is None or not self._session.active():
            self.close()
            self._session = open_session(self.access)
            self._closer = weakref.finalize(self, self._session.close)
        return self._session.client

    def remote(self, path: str) -> str:
        """The server's path of ``path`` under the folder."""
        return posixpath.join(self.folder, path) if path else self.folder

    def _run(self, what: str, path: str, action: Callable[[paramiko.SFTPClient], T],
             again: bool = True) -> T:
        """``action`` on the connection; a connection the server dropped since its last use is
        made anew once."""
        reused = self._session is not None and self._session.active()
        try:
            return action(self._client())
        except (FileNotFoundError, TargetError):
            raise
        except PermissionError:
            raise TargetError(f"{self.description}: permission denied to {what} {path} (hint: "
                              f"the SFTP user {self.access.username!r} needs read access to "
                              f"adapter.folder and its files on {self.access.address})") from None
        except TimeoutError:
            self.close()
            raise TargetError(f"{self.description}: no answer to {what} {path} within "
                              f"{self.access.timeout:g}s (hint: the server or the network "
                              f"stalls; adapter.timeout in {self.access.profile})") from None
        except (paramiko.SSHException, paramiko.SFTPError, EOFError, OSError) as exc:
            if self._session is not None and self._session.active() and \
                    not isinstance(exc, paramiko.SSHException | EOFError | ConnectionError):
                raise TargetError(f"{self.description}: the server refused to {what} {path}: "
                                  f"{exc or type(exc).__name__}") from None
            self.close()
            if reused and again:
                return self._run(what, path, action, again=False)
            raise TargetError(f"{self.description}: the connection broke off while trying to "
                              f"{what} {path}: {exc or type(exc).__name__}") from None

    # -- the FileTree ----------------------------------------------------------------------
    def check_root(self) -> None:
        entry = self.stat("")
        if entry is None or not entry.is_dir:
            raise TargetError(f"{self.description} does not exist or is not a folder (hint: "
                              f"check adapter.folder in {self.access.profile}: a path on the "
                              f"server as user {self.access.username!r} sees it)")

    def listdir(self, path: str) -> list[Entry]:
        remote = self.remote(path)
        listed = self._run("list", remote, lambda c: c.listdir_attr(remote))
        entries = []
        for attrs in listed:
            entry = _entry(attrs.filename, attrs)
            if stat.S_ISLNK(attrs.st_mode or 0):
                followed = self.stat(posixpath.join(path, attrs.filename))
                if followed is None or followed.is_dir:
                    continue  # dangling, or a link to a folder: not walked (no loops)
                entry = Entry(attrs.filename, False, followed.size, followed.mtime)
            entries.append(entry)
        return entries

    def stat(self, path: str) -> Entry | None:
        remote = self.remote(path)
        try:
            attrs = self._run("read", remote, lambda c: c.stat(remote))
        except FileNotFoundError:
            return None
        return _entry(posixpath.basename(remote), attrs)

    def copy(self, path: str, out: BinaryIO) -> None:
        remote = self.remote(path)
        self._run("download", remote, lambda c: c.getfo(remote, out), again=False)


def _entry(name: str, attrs: paramiko.SFTPAttributes) -> Entry:
    """A listed file or folder; a server that leaves out a time dates the file at 1970."""
    return Entry(name, stat.S_ISDIR(attrs.st_mode or 0), attrs.st_size or 0,
                 datetime.fromtimestamp(attrs.st_mtime or 0, UTC))


class SftpPlatform(RecordingFiles):
    """Recordings as files under ``folder`` on the SFTP server ``access`` describes."""

    holder = "the SFTP server"
    tree: SftpTree

    def __init__(self, access: SftpAccess, folder: str, names: Names,
                 extensions: tuple[str, ...] = EXTENSIONS, profile: Path | None = None) -> None:
        super().__init__(SftpTree(access, folder), names, extensions, profile)
        self.access, self.folder = access, self.tree.folder

    @classmethod
    def from_target(cls, target: Target) -> SftpPlatform:
        """Built from the profile's ``adapter:`` (host, port, username, password or key_file,
        known_hosts or host_key or insecure_host_key, folder, recording_name,
        recording_timezone, extensions, timeout); relative files are under the profile's
        folder."""
        spec, where = target.adapter, f"target profile {target.path}"
        folder = spec.get("folder")
        if not isinstance(folder, str) or not folder:
            raise TargetError(f"{where}: adapter.folder must be the recordings' folder on the "
                              f"SFTP server (e.g. /var/spool/recordings), not {folder!r}")
        return cls(access_from_profile(target), folder, names_from_profile(spec, where),
                   extensions_from_profile(spec, where), target.path)

    @classmethod
    def capabilities(cls, target: Target) -> frozenset[Capability]:
        """What this adapter can do for ``target``, from its profile alone (nothing is asked of the
        platform)."""
        return frozenset({Capability.RECORDINGS, Capability.UNAUTHENTICATED_FETCH})

    def __repr__(self) -> str:
        return (f"SftpPlatform({self.access.username}@{self.access.address}:{self.folder}, "
                f"password={self.access.password!r}, names={self.names!r})")

    def close(self) -> None:
        """End the connection to the server (the next request makes a new one)."""
        self.tree.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def fetch_unauthenticated(self, rec: RecordingInfo) -> int:
        """The login without credentials (SSH ``none``) as ``adapter.username``, as an HTTP
        status: 401 refused; else 200, 403 or 404 for reading the file (see the module)."""
        remote = self.tree.remote(f"{rec.name}.{rec.format}")
        return status_without_credentials(self.access, remote)


def access_from_profile(target: Target) -> SftpAccess:
    """The server, the login and the host key check the profile's ``adapter:`` gives."""
    spec, where = target.adapter, f"target profile {target.path}"
    host, username = spec.get("host"), spec.get("username")
    if not isinstance(host, str) or not host:
        raise TargetError(f"{where}: adapter.host must be the SFTP server's host name or address, "
                          f"not {host!r}")
    if not isinstance(username, str | int) or isinstance(username, bool) or not str(username):
        raise TargetError(f"{where}: adapter.username must be the SFTP user, not {username!r}")
    port = spec.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise TargetError(f"{where}: adapter.port must be a TCP port, not {port!r}")
    timeout = spec.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise TargetError(f"{where}: adapter.timeout must be a positive number of seconds, "
                          f"not {timeout!r}")
    password = spec.get("password")
    if password is not None and not isinstance(password, Secret):
        raise TargetError(f"{where}: adapter.password must be ${{ENV:NAME}}")
    key_file = _file(spec, "key_file", target)
    if password is None and key_file is None:
        raise TargetError(f"{where}: the sftp adapter needs adapter.password (${{ENV:NAME}}) or "
                          f"adapter.key_file (a private key file) to log in")
    return SftpAccess(host, port, str(username), password, key_file, _file(spec, "known_hosts",
                      target), _host_key(spec, where), _insecure(spec, where), float(timeout),
                      target.path)


def _file(spec: Any, field: str, target: Target) -> Path | None:
    name = spec.get(field)
    if name is None:
        return None
    path = target.path.parent / str(name)
    if not isinstance(name, str) or not name or not path.is_file():
        raise TargetError(f"target profile {target.path}: adapter.{field} {name!r} is not a file "
                          f"(relative to the profile's folder when relative)")
    return path


def _host_key(spec: Any, where: str) -> str | None:
    pin = spec.get("host_key")
    if pin is None:
        return None
    if not isinstance(pin, str) or not pin.startswith(_FINGERPRINT) or \
            len(pin) != len(_FINGERPRINT) + 43:
        raise TargetError(f"{where}: adapter.host_key must be the server's key fingerprint as "
                          f"ssh-keygen -l prints it, SHA256: and 43 characters, not {pin!r}")
    return pin


def _insecure(spec: Any, where: str) -> bool:
    insecure = spec.get("insecure_host_key", False)
    if not isinstance(insecure, bool):
        raise TargetError(f"{where}: adapter.insecure_host_key must be true or false, "
                          f"not {insecure!r}")
    if insecure and (spec.get("host_key") is not None or spec.get("known_hosts") is not None):
        raise TargetError(f"{where}: adapter.insecure_host_key: true turns off the host key "
                          f"check that host_key or known_hosts asks for: keep one of them")
    return insecure
