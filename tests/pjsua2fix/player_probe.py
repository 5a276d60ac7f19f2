"""Run pjsua2 WAV players in a process of their own (pjsua2 has one library per process)
and print what they did as one JSON line.  Used by test_players.py and the EOF benchmark.

    python player_probe.py eof SECONDS patched|plain    how often onEof2 ran for a played-out WAV
    python player_probe.py ids SECONDS                  open and close players out of order
    python player_probe.py loop SECONDS                 a looping player rewinds, a no-loop one stops
    python player_probe.py race SECONDS CYCLES patched|plain   destroy players right at their EOF

SECONDS is the length of the tone the probe writes (to a temporary folder) and plays.
"""

from __future__ import annotations

import json
import math
import random
import struct
import sys
import tempfile
import time
import wave
from pathlib import Path

import pjsua2 as pj

from pjsua2fix import players


class Counting(pj.AudioMediaPlayer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.eofs = 0

    def onEof2(self) -> None:
        self.eofs += 1


def tone(path: Path, seconds: float) -> Path:
    """A mono 8 kHz tone of ``seconds``, written to ``path``."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(int(8000 * seconds))))
    return path


def wav_seconds(path: str) -> float:
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


def start() -> tuple[pj.Endpoint, pj.AudioMedia]:
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.logConfig.level = 0
    cfg.logConfig.consoleLevel = 0
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()  # a clock that pulls audio, with no sound card
    ep.libStart()
    return ep, ep.audDevManager().getPlaybackDevMedia()


def plain(path: str, loop: bool = False) -> Counting:
    player = Counting()
    player.createPlayer(path, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
    return player


def eof(path: str, mode: str) -> dict[str, object]:
    ep, sink = start()
    player = players.open_player(path, cls=Counting) if mode == "patched" else plain(path)
    player.startTransmit(sink)
    end = time.monotonic() + wav_seconds(path) + 1.5  # the event thread runs well within this
    while time.monotonic() < end and player.eofs == 0:
        time.sleep(0.02)
    if player.eofs == 0:
        time.sleep(0.3)  # nothing came by the deadline: a late one would still be counted
    out = {"eofs": player.eofs, "pos": player.getPos()}
    players.close_all() if mode == "patched" else players._destroy(player)
    ep.libDestroy()
    return out


def ids(path: str) -> dict[str, object]:
    ep, _ = start()
    a, b, c = (players.open_player(path) for _ in range(3))
    slots = [p.getPortId() for p in (a, b, c)]
    players.close_player(b)  # frees pjsua player id 1: the next player takes it
    d = players.open_player(path)
    e = players.open_player(path)
    slots += [d.getPortId(), e.getPortId()]
    count = players.open_count()
    players.close_player(a)
    players.close_player(a)  # twice: the second is a no-op
    after_close = players.open_count()
    players.close_all()
    ep.libDestroy()
    return {"slots": slots, "open": count, "after_close": after_close}


def loop(path: str) -> dict[str, object]:
    ep, sink = start()
    once = players.open_player(path)
    again = players.open_player(path, loop=True)
    once.startTransmit(sink)
    again.startTransmit(sink)
    seconds = wav_seconds(path)
    looped, last = False, again.getPos()
    end = time.monotonic() + 2.5 * seconds + 2.0
    while time.monotonic() < end and not looped:
        time.sleep(0.01)
        pos = again.getPos()
        looped, last = pos < last, pos
    # the no-loop player played out long ago: it sends silence now, the looping one its tone
    levels = []
    for _ in range(10):
        time.sleep(0.03)
        levels.append((once.getTxLevel(), again.getTxLevel()))
    out = {"looped": looped, "once_level": max(a for a, _ in levels), "again_level": max(b for _, b in levels)}
    players.close_all()
    ep.libDestroy()
    return out


def race(path: str, cycles: int, mode: str) -> dict[str, object]:
    ep, sink = start()
    seconds = wav_seconds(path)
    for _ in range(cycles):
        player = players.open_player(path) if mode == "patched" else plain(path)
        player.startTransmit(sink)
        time.sleep(max(0.0, seconds + random.uniform(-0.03, 0.03)))  # around its EOF
        players.close_player(player) if mode == "patched" else players._destroy(player)
    time.sleep(0.2)  # any event still queued is dispatched now, or the process is dead
    ep.libDestroy()
    return {"cycles": cycles}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        return run(argv[0], str(tone(Path(tmp) / "tone.wav", float(argv[1]))), argv[2:])


def run(kind: str, path: str, argv: list[str]) -> int:
    if kind == "eof":
        out = eof(path, argv[0])
    elif kind == "ids":
        out = ids(path)
    elif kind == "loop":
        out = loop(path)
    else:
        out = race(path, int(argv[0]), argv[1])
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
