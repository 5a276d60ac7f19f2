"""The SSH connection of the SFTP adapter, made with paramiko.

paramiko is the maintained, synchronous SSH library for Python: the adapter's
calls are synchronous (the recording step polls and downloads in turn), so an
event loop (asyncssh) would only add a thread to hop through.

Every step waits at most ``adapter.timeout``: the TCP connect, the server's
banner, the key exchange, the login and opening the SFTP channel; a watchdog
closes the connection if setting up takes longer than all of them together
(paramiko waits for a subsystem without a deadline), and once up, every SFTP
request waits at most the timeout too.

The server's host key is checked before any credential is sent: against
``adapter.host_key`` (a fingerprint as ``ssh-keygen -l`` prints it,
``SHA256:...``) or the entries for the host in ``adapter.known_hosts``.  An
unknown key is refused with its fingerprint and how to pin it, unless
``adapter.insecure_host_key: true``, which logs a loud warning at every
connection.  Failures are ``TargetError`` s in one line naming host:port and
the profile field to check; the password is never in them.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.pkey import UnknownKeyType

from harness.errors import TargetError
from harness.targets.model import Secret

log = logging.getLogger("ccharness")

DEFAULT_PORT = 22
DEFAULT_TIMEOUT = 10.0
SETUP_STEPS = 5  # connect, banner, key exchange, login, SFTP channel: the set-up's deadline


@dataclass(frozen=True)
class SftpAccess:
    """Where the SFTP server is, who the harness is there, and how the server is recognised."""

    host: str
    port: int
    username: str
    password: Secret | None
    key_file: Path | None
    known_hosts: Path | None
    host_key: str | None  # "SHA256:..." as ssh-keygen -l prints it
    insecure_host_key: bool
    timeout: float
    profile: Path | None

    @property
    def address(self) -> str:
        """``host:port`` (``[::1]:22`` for IPv6), as messages and known_hosts name it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class SftpSession:
    """One logged-in SSH connection and its SFTP client; ``close`` ends both."""

    def __init__(self, transport: paramiko.Transport, client: paramiko.SFTPClient) -> None:
        self.transport, self.client = transport, client

    def active(self) -> bool:
        """Still usable: the connection is up and the SFTP channel open."""
        channel = self.client.get_channel()
        return bool(self.transport.is_active()) and channel is not None and not channel.closed

    def close(self) -> None:
        self.client.close()
        self.transport.close()


class _Watchdog:
    """Closes the transport when the set-up outlives its deadline, and remembers it did."""

    def __init__(self, transport: paramiko.Transport, seconds: float) -> None:
        self.fired = threading.Event()
        self._timer = threading.Timer(seconds, self._fire, (transport,))
        self._timer.daemon = True
        self._timer.start()

    def _fire(self, transport: paramiko.Transport) -> None:
        self.fired.set()
        transport.close()

    def cancel(self) -> None:
        self._timer.cancel()


def open_session(access: SftpAccess) -> SftpSession:
    """Connect, check the host key, log in and open the SFTP channel; ``TargetError`` if any fails."""
    transport = _handshake(access)
    watchdog = _Watchdog(transport, SETUP_STEPS * access.timeout)
    try:
        _authenticate(transport, access)
        return SftpSession(transport, _sftp(transport, access))
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        if watchdog.fired.is_set():
            raise _no_answer(access, "while logging in") from None
        raise TargetError(f"SFTP server {access.address}: the connection broke off while logging "
                          f"in: {_reason(exc)} (hint: check adapter.host and adapter.port in "
                          f"{access.profile})") from None
    except BaseException:
        transport.close()
        raise
    finally:
        watchdog.cancel()


def status_without_credentials(access: SftpAccess, path: str) -> int:
    """What a client that offers no credentials (SSH's ``none`` login) gets for ``path``, as an
    HTTP status: 401 when the server refuses such a login -- and 200, 403 or 404 for reading
    the file when it lets the nobody in."""
    transport = _handshake(access)
    watchdog = _Watchdog(transport, SETUP_STEPS * access.timeout)
    try:
        try:
            transport.auth_none(access.username)
        except paramiko.AuthenticationException:
            return 401
        if not transport.is_authenticated():
            return 401  # it asks for a further step
        log.warning("SFTP server %s lets user %r in without credentials", access.address,
                    access.username)
        with _sftp(transport, access) as client, client.open(path, "rb") as file:
            file.read(1)
        return 200
    except PermissionError:
        return 403
    except FileNotFoundError:
        return 404
    except (paramiko.SSHException, EOFError, OSError) as exc:
        if watchdog.fired.is_set():
            raise _no_answer(access, "while trying a login without credentials") from None
        raise TargetError(f"SFTP server {access.address}: the connection broke off while trying "
                          f"a login without credentials: {_reason(exc)}") from None
    finally:
        watchdog.cancel()
        transport.close()


# -- the steps -------------------------------------------------------------------------------
def _handshake(access: SftpAccess) -> paramiko.Transport:
    """A connected transport whose server's host key is trusted; no credential sent yet."""
    sock = _socket(access)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = transport.handshake_timeout = access.timeout
    transport.auth_timeout = transport.channel_timeout = access.timeout
    known = _known_keys(access)
    _prefer(transport, known)
    watchdog = _Watchdog(transport, SETUP_STEPS * access.timeout)
    try:
        transport.start_client(timeout=access.timeout)  # returns at the timeout, unfinished
        if not transport.initial_kex_done or watchdog.fired.is_set():
            raise _no_answer(access, "to the SSH handshake")
        check_host_key(access, transport.get_remote_server_key(), known)
        return transport
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        if watchdog.fired.is_set() or isinstance(exc.__context__, TimeoutError):  # no banner
            raise _no_answer(access, "to the SSH handshake") from None
        raise TargetError(f"SFTP server {access.address}: no SSH handshake ({_reason(exc)}) "
                          f"(hint: is adapter.port the SSH/SFTP port of adapter.host? check "
                          f"{access.profile})") from None
    except BaseException:
        transport.close()
        raise
    finally:
        watchdog.cancel()


def _socket(access: SftpAccess) -> socket.socket:
    hint = f"check adapter.host and adapter.port in {access.profile}"
    try:
        return socket.create_connection((access.host, access.port), timeout=access.timeout)
    except ConnectionRefusedError:
        raise TargetError(f"SFTP server {access.address}: connection refused (hint: is the SFTP "
                          f"server running on that port? {hint})") from None
    except TimeoutError:
        raise _no_answer(access, "to the connection") from None
    except socket.gaierror as exc:
        raise TargetError(f"SFTP server {access.address}: the host name cannot be resolved "
                          f"({exc.strerror}) (hint: {hint})") from None
    except OSError as exc:
        raise TargetError(f"SFTP server {access.address}: cannot connect ({exc.strerror}) "
                          f"(hint: {hint})") from None


def _no_answer(access: SftpAccess, what: str) -> TargetError:
    return TargetError(f"SFTP server {access.address}: no answer {what} within "
                       f"{access.timeout:g}s (hint: is the host reachable from here and the port "
                       f"open? check adapter.host, adapter.port and adapter.timeout in "
                       f"{access.profile})")


def _known_keys(access: SftpAccess) -> dict[str, paramiko.PKey]:
    """The host's keys in ``adapter.known_hosts``, by key type (``{}`` without the file)."""
    if access.known_hosts is None:
        return {}
    keys = paramiko.HostKeys()
    try:
        keys.load(str(access.known_hosts))
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise TargetError(f"target profile {access.profile}: adapter.known_hosts "
                          f"{access.known_hosts} cannot be read: {_reason(exc)}") from None
    name = access.host if access.port == DEFAULT_PORT else f"[{access.host}]:{access.port}"
    found = keys.lookup(name)
    return dict(found) if found is not None else {}


def _prefer(transport: paramiko.Transport, known: dict[str, paramiko.PKey]) -> None:
    """Ask for a key type known_hosts has first, so a known server is not judged by another key."""
    options = transport.get_security_options()
    first = [t for kind in known for t in (("rsa-sha2-512", "rsa-sha2-256")
                                           if kind == "ssh-rsa" else (kind,))]
    first = [t for t in first if t in options.key_types]
    if first:
        options.key_types = first + [t for t in options.key_types if t not in first]


def check_host_key(access: SftpAccess, key: paramiko.PKey,
                   known: dict[str, paramiko.PKey]) -> None:
    """Trust ``key`` if ``adapter.host_key`` or ``adapter.known_hosts`` says so, or if told to
    trust any key; else raise ``TargetError`` naming the key the server presented."""
    seen = f"{key.get_name()} {key.fingerprint}"
    if key.fingerprint == access.host_key:
        return
    listed = known.get(key.get_name())
    if listed is not None and listed.asbytes() == key.asbytes():
        return
    if access.host_key is not None or listed is not None:
        pinned = (f"adapter.host_key {access.host_key}" if access.host_key is not None
                  else f"{listed.get_name()} {listed.fingerprint} in {access.known_hosts}"
                  if listed is not None else "")
        raise TargetError(f"SFTP server {access.address} presented host key {seen}, not "
                          f"{pinned}: refused (hint: if the server's key was replaced on "
                          f"purpose, check the new one with its administrator and pin it; "
                          f"otherwise something may be between the harness and the server)")
    if access.insecure_host_key:
        log.warning("WARNING: the SSH host key of SFTP server %s is NOT checked "
                    "(adapter.insecure_host_key: true in %s): anyone on the path can pose as the "
                    "server and take the login; it presented %s", access.address,
                    access.profile, seen)
        return
    raise TargetError(f"SFTP server {access.address} presented an unknown host key {seen}: "
                      f"refused (hint: if that is the server's key -- ssh-keygen -lf on its "
                      f"host key file prints the fingerprint -- pin it in {access.profile} with "
                      f"adapter.host_key: \"{key.fingerprint}\", or name a known_hosts file "
                      f"that has it in adapter.known_hosts)")


def _authenticate(transport: paramiko.Transport, access: SftpAccess) -> None:
    """The key first, then the password, as ssh does; ``TargetError`` if neither gets in."""
    refused: list[str] = []
    allowed: list[str] = []
    if access.key_file is not None:
        key = _private_key(access, access.key_file)
        if _login(transport, refused, allowed, f"the key {access.key_file} (adapter.key_file)",
                  lambda: transport.auth_publickey(access.username, key)):
            return
    if access.password is not None:
        password = access.password.reveal()
        what = f"the password in ${{ENV:{access.password.env}}} (adapter.password)"
        if _login(transport, refused, allowed, what,
                  lambda: transport.auth_password(access.username, password)):
            return
    offers = f" (it accepts: {', '.join(sorted(set(allowed)))})" if allowed else ""
    raise TargetError(f"SFTP server {access.address}: login refused for user "
                      f"{access.username!r} with {' or '.join(refused) or 'no credentials'}"
                      f"{offers} (hint: check adapter.username and those credentials in "
                      f"{access.profile})")


def _login(transport: paramiko.Transport, refused: list[str], allowed: list[str], what: str,
           attempt: Callable[[], list[str]]) -> bool:
    try:
        more = attempt()
    except paramiko.BadAuthenticationType as exc:
        allowed.extend(exc.allowed_types)
        refused.append(what)
        return False
    except paramiko.AuthenticationException:
        refused.append(what)
        return False
    if not transport.is_authenticated():  # partial success: the server wants another step
        allowed.extend(more or [])
        refused.append(f"{what} alone")
        return False
    return True


def _private_key(access: SftpAccess, path: Path) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException:
        problem = "is protected by a passphrase, which the adapter cannot give"
    except (OSError, paramiko.SSHException, UnknownKeyType, ValueError) as exc:
        problem = f"cannot be read as a private key ({_reason(exc)})"
    raise TargetError(f"target profile {access.profile}: adapter.key_file {path} {problem}"
                      f" (hint: an OpenSSH or PEM private key without a passphrase, "
                      f"readable only by the harness's user)")


def _sftp(transport: paramiko.Transport, access: SftpAccess) -> paramiko.SFTPClient:
    channel = transport.open_session(timeout=access.timeout)
    channel.settimeout(access.timeout)  # every request from now on
    try:
        channel.invoke_subsystem("sftp")
    except paramiko.SSHException:
        raise TargetError(f"SFTP server {access.address}: the server does not offer SFTP to "
                          f"user {access.username!r} (hint: its sshd needs a Subsystem sftp line; "
                          f"check adapter.host and adapter.port in {access.profile})") from None
    return paramiko.SFTPClient(channel)


def _reason(exc: BaseException) -> str:
    """What went wrong, in a few words; no credential reaches here."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return text or type(exc).__name__
