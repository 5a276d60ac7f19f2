"""Playing a WAV file out loud, for people in the room (the rehearsal's recording retrieval).

sox's ``play`` first, else ALSA's ``aplay``. A machine without a sound card
(a CI runner, a container, a server reached over SSH) is normal, not an error:
``play_aloud`` then says why nothing was heard and the caller shows the file
instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PLAYERS = (("play", "-q"), ("aplay", "-q"))  # sox first: it also reaches PulseAudio/PipeWire
MARGIN = 5.0  # seconds a player may take beyond the file's length to start and drain


@dataclass(frozen=True)
class Playback:
    """What became of one attempt to play a file: played, or why not."""

    played: bool
    player: str | None
    reason: str = ""


def audio_output() -> bool:
    """Whether this machine has somewhere to send sound: an ALSA device or a Pulse/PipeWire server."""
    if Path("/dev/snd").is_dir() and any(Path("/dev/snd").iterdir()):
        return True
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return runtime is not None and (Path(runtime) / "pulse" / "native").exists()


def player() -> tuple[str, ...] | None:
    """The command line (without the file) of the first player installed."""
    for name, *flags in PLAYERS:
        found = shutil.which(name)
        if found:
            return (found, *flags)
    return None


def play_aloud(path: Path, seconds: float) -> Playback:
    """Play ``path`` (``seconds`` long) and wait for it, at most its length plus ``MARGIN``."""
    if not audio_output():
        return Playback(False, None, "no audio output on this machine (no /dev/snd, no sound server)")
    command = player()
    if command is None:
        return Playback(False, None, "neither play (sox) nor aplay (alsa-utils) is installed")
    name = Path(command[0]).name
    try:
        done = subprocess.run([*command, str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=seconds + MARGIN, check=False)
    except subprocess.TimeoutExpired:
        return Playback(False, name, f"{name} did not finish within {seconds + MARGIN:.1f}s; stopped it")
    except OSError as exc:
        return Playback(False, name, f"{name} could not be started: {exc}")
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return Playback(False, name, f"{name} exited with {done.returncode}"
                                     + (f": {said[-1]}" if said else ""))
    return Playback(True, name)
