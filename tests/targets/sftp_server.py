"""A real SFTP server for the SFTP adapter's tests: asyncssh's, on 127.0.0.1, in a thread.

It serves a folder of this host as its root ``/`` (asyncssh's chroot), with a
throwaway ed25519 host key, password logins for the users it is given and
public-key logins for the keys it is given.  It records who tried to log in
and how -- never a password -- so a test can show no credential was sent.
``lie`` makes its listing of a folder add names of the test's choosing, as a
hostile server could, and ``deny`` refuses paths (the tests run as root, whom
file permissions do not stop).  Like pytest-httpserver's, the server thread never
raises into pytest: an error on its loop is kept, and ``stop`` re-raises it on
the test thread.  Every wait on the thread has a deadline.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh

WAIT = 10.0  # seconds for the server to start or stop


class SftpServer:
    """An SFTP server on ``127.0.0.1:port`` whose ``/`` is ``root``."""

    def __init__(self, root: Path, users: dict[str, str], keys: dict[str, asyncssh.SSHKey] | None
                 = None, anyone: bool = False) -> None:
        self.root, self.users, self.keys, self.anyone = root, users, keys or {}, anyone
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.fingerprint = self.host_key.get_fingerprint("sha256")
        self.attempts: list[tuple[str, str]] = []  # (user, method): what was tried, in order
        self.lie: dict[str, list[asyncssh.SFTPName]] = {}  # server path -> extra listed names
        self.deny: set[str] = set()  # server paths refused with permission denied (tests run as root)
        self.port = 0
        self._errors: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda _, context: self._keep(context))
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="sftp-server")
        self._listener: asyncssh.SSHAcceptor | None = None
        self._connections: list[asyncssh.SSHServerConnection] = []

    def _keep(self, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if not isinstance(error, ConnectionError | asyncssh.DisconnectError):  # clients go away
            self._errors.append(error or RuntimeError(str(context.get("message"))))

    def known_hosts_line(self) -> str:
        """This server's line for a known_hosts file."""
        return known_hosts_line(self.port, self.host_key)

    def start(self) -> SftpServer:
        self._thread.start()
        self._listener = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(WAIT)
        self.port = self._listener.get_port()
        return self

    async def _listen(self) -> asyncssh.SSHAcceptor:
        owner = self
        root = os.fsencode(self.root)

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                owner._connections.append(conn)

            def begin_auth(self, username: str) -> bool:
                return not owner.anyone  # False: in without credentials

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                owner.attempts.append((username, "password"))
                return owner.users.get(username) == password

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                owner.attempts.append((username, "publickey"))
                known = owner.keys.get(username)
                return known is not None and known.public_data == key.public_data

        class Sftp(asyncssh.SFTPServer):
            def _check(self, path: bytes) -> None:
                if (os.fsdecode(path).rstrip("/") or "/") in owner.deny:
                    raise asyncssh.SFTPPermissionDenied("Permission denied")

            def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
                self._check(path)
                return super().open(path, pflags, attrs)

            async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
                self._check(path)
                async for name in super().scandir(path):
                    yield name
                for name in owner.lie.get(os.fsdecode(path).rstrip("/") or "/", []):
                    yield name

        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[self.host_key], server_factory=Server,
            sftp_factory=lambda chan: Sftp(chan, chroot=root), allow_scp=False,
            login_timeout=WAIT)

    def drop(self) -> None:
        """Close every client connection, as a server's idle timeout or a restart does."""
        async def close() -> None:
            for conn in owner_connections:
                conn.close()
                await conn.wait_closed()

        owner_connections, self._connections = self._connections, []
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(WAIT)

    def stop(self) -> None:
        """Stop listening and end the loop; re-raise what went wrong on it, if anything."""
        if self._listener is not None:
            listener = self._listener

            async def close() -> None:
                listener.close()
                await listener.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT)
        if self._thread.is_alive():
            raise TimeoutError(f"the SFTP server thread did not end within {WAIT}s")
        self._loop.close()
        if self._errors:
            raise self._errors[0]


def known_hosts_line(port: int, key: asyncssh.SSHKey) -> str:
    """A known_hosts line saying the server on ``127.0.0.1:port`` has ``key``."""
    kind, data = key.export_public_key("openssh").decode().split()[:2]
    return f"[127.0.0.1]:{port} {kind} {data}\n"
