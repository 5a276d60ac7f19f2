"""WAV players that never call back: pjproject issue #4812 (fixed by PR #5045, after 2.15.1).

In 2.15.1 ``AudioMediaPlayer.createPlayer`` registers a C++ end-of-file callback
whose user data is the player object.  At EOF the conference bridge's clock
thread *posts* an event; pjmedia's event thread later calls the callback, which
calls ``player->onEof2()``.  Destroy the player between the two -- the usual
moment, since callers destroy a player when its prompt has played -- and the
event thread calls through freed memory: the process dies with SIGSEGV in
``pj::AudioMediaPlayer::eof_cb``.  It killed a reference-platform media worker
under load (kernel log ``ev_thread ... segfault``); loops of 400-1000 players each
destroyed at its EOF died in 3 of 18 runs beside ``stress`` (rarely: 0 of 12 in
another try; ``tests/benchmarks/bench_player_eof.py`` measures it).

Nothing here uses ``onEof2``, so :func:`open_player` clears that callback right
after ``createPlayer``, before the player is connected: without a callback the
WAV port never subscribes to, nor posts, the EOF event (``wav_player.c``
``file_get_frame``), so there is nothing left to race with.  Playback is
unchanged: a ``PJMEDIA_FILE_NO_LOOP`` player still stops at its end, a looping
one still rewinds.

pjsua2 does not expose the player id that ``pjsua_player_get_port`` needs, and
asking pjsua about an unused id fails an assertion that aborts the process, so
the id is not looked for: pjsua gives a new player the lowest free id, and this
module owns every player in the process (it holds them until
:func:`close_player`), so it knows which ids are free.  The guess is checked
before use -- the id's conference slot must be the player's and its port a WAV
player's -- and a wrong one is a clear error, not a crash.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import pjsua2 as pj

MAX_PLAYERS = 32  # PJSUA_MAX_PLAYERS in the wheel's build (pjsua.h default)
# PJMEDIA_SIGNATURE('P', 'A', 'W', 'P'): the signature of a WAV player's port (signatures.h)
WAV_PLAYER_SIGNATURE = (ord("P") << 24) | (ord("A") << 16) | (ord("W") << 8) | ord("P")
_SIGNATURE_OFFSET = ctypes.sizeof(ctypes.c_void_p) + ctypes.sizeof(ctypes.c_ssize_t)  # after pj_str_t name

_lib = ctypes.CDLL(pj._pjsua2.__file__)  # the same loaded library: pjsua's one state
_lib.pjsua_player_get_conf_port.argtypes = [ctypes.c_int]
_lib.pjsua_player_get_conf_port.restype = ctypes.c_int
_lib.pjsua_player_get_port.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
_lib.pjsua_player_get_port.restype = ctypes.c_int
_lib.pjmedia_wav_player_set_eof_cb2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
_lib.pjmedia_wav_player_set_eof_cb2.restype = ctypes.c_int


class PlayerError(RuntimeError):
    """A player could not be made safe; it has been destroyed again."""


class _Players:
    """Every player this process has open, by pjsua player id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[int, Any] = {}

    def free_id(self) -> int:
        for pid in range(MAX_PLAYERS):
            if pid not in self.by_id:
                return pid
        raise PlayerError(f"all {MAX_PLAYERS} pjsua players are in use in this process")


_open = _Players()


def open_player(path: str, loop: bool = False, cls: type[Any] = pj.AudioMediaPlayer) -> Any:
    """A player of ``path`` (an instance of ``cls``) with no end-of-file callback.

    Held here until :func:`close_player`: drop every other reference as you like.
    Raises ``pj.Error`` as ``createPlayer`` does (no such file, not a WAV ...).
    """
    with _open.lock:
        pid = _open.free_id()
        player = cls()
        try:
            player.createPlayer(path, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
            _open.by_id[pid] = player
            _clear_eof_callback(pid, player)
        except BaseException:
            _open.by_id.pop(pid, None)
            _destroy(player)
            raise
        return player


def close_player(player: Any) -> None:
    """Destroy ``player`` now (it leaves the conference bridge); a player not open here is left alone."""
    with _open.lock:
        for pid, held in list(_open.by_id.items()):
            if held is player:
                del _open.by_id[pid]
                _destroy(player)
                return


def close_all() -> None:
    """Destroy every open player: before ``libDestroy``, which must not find one."""
    with _open.lock:
        players = list(_open.by_id.values())
        _open.by_id.clear()
        for player in players:
            _destroy(player)


def open_count() -> int:
    with _open.lock:
        return len(_open.by_id)


def _clear_eof_callback(pid: int, player: Any) -> None:
    slot = _lib.pjsua_player_get_conf_port(pid)
    if slot != player.getPortId():
        raise PlayerError(
            f"pjsua player {pid} is on conference slot {slot}, this player on {player.getPortId()}: "
            "a player was made or destroyed outside pjsua2fix.players")
    port = ctypes.c_void_p()
    status = _lib.pjsua_player_get_port(pid, ctypes.byref(port))
    if status != 0 or not port.value:
        raise PlayerError(f"pjsua_player_get_port({pid}) failed with status {status}")
    signature = ctypes.c_uint32.from_address(port.value + _SIGNATURE_OFFSET).value
    if signature != WAV_PLAYER_SIGNATURE:
        raise PlayerError(f"pjsua player {pid}'s port has signature {signature:#x}, not a WAV player's")
    status = _lib.pjmedia_wav_player_set_eof_cb2(port, None, None)
    if status != 0:
        raise PlayerError(f"pjmedia_wav_player_set_eof_cb2 failed with status {status}")


def _destroy(player: Any) -> None:
    """Run the C++ destructor now, whoever still holds the Python proxy (pjsua2 quirk:
    left to the garbage collector it may run after ``libDestroy`` and abort there)."""
    if player.thisown:
        type(player).__swig_destroy__(player)
