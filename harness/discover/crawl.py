"""Crawling an IVR: real calls to one DID, breadth first, every key and no input at every menu.

One scenario run holds the crawl's phones: ``parallel`` callers, and every other account of
the profile as an agent whose phone rings and never answers (so a queue shows itself by
ringing them, and no agent is ever bridged). Each probe is one fresh call that replays a
menu's path -- waits for the platform to finish its prompt (``end_silence`` of quiet after
sound), presses the path's keys one by one -- and then tries one action: a key, or no input.
What follows is listened to until the platform waits again, hangs up, rings an agent, or
``patience`` passes; no input is followed through its repeats (``NO_INPUT_CYCLES``).

Probes run ``parallel`` at a time; their audio is explained (``ClipBook``) one probe at a
time, in the order they finish, so clip ids stay consistent. A probe that does not reach
its menu (the replay heard no prompt, the call failed) is reported and its edge left out.
The crawl stops at ``max_depth`` and ``max_calls``, and never dials anything but the DID.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.audio.pcm import RATE, FloatArray
from harness.audio.wav import read_capture
from harness.discover.clips import SOUND_DBFS, ClipBook
from harness.discover.model import KEYS, NO_INPUT, Edge, IvrMap, Node, Outcome, same_menus
from harness.errors import HarnessError
from harness.prompts.cut import first_sound, sound_end
from harness.runner.run import ScenarioRun
from harness.sip.timeline import CallTimeline

NO_INPUT_CYCLES = 5  # at most this many waits without input are followed on one call
POLL = 0.2


@dataclass(frozen=True)
class Settings:
    max_depth: int = 3
    max_calls: int = 200
    parallel: int = 3
    end_silence: float = 1.6  # quiet after a prompt that means the platform waits for a key
    patience: float = 12.0  # after an action, nothing at all for this long: silence
    no_input_patience: float = 25.0  # waiting without a key: the platform's own timeout comes first
    answer_within: float = 10.0
    max_listen: float = 45.0  # one stretch of sound (hold music) is cut here
    keys: str = KEYS


@dataclass
class Heard:
    """One stretch of a probe call after an action (or the answer)."""

    audio: FloatArray
    ended: bool = False  # the platform hung up
    agents: tuple[str, ...] = ()  # agent phones that rang meanwhile
    waited: bool = False  # it went quiet: the platform waits for a key


@dataclass
class Probe:
    """One call: replay ``path``, then do ``action`` (None: only listen to the node's prompt)."""

    node: str | None  # the node the path leads to (None for the first call)
    path: tuple[str, ...]
    action: str | None
    handle: str = ""
    phone: str = ""
    timeline: CallTimeline | None = None
    step: int = 0  # how many of the path's keys were pressed
    since: float = 0.0  # capture seconds from which the next sound is looked for
    sound_at: float | None = None
    deadline: float = 0.0  # monotonic: give up on the current wait
    heard: list[Heard] = field(default_factory=list)
    error: str = ""
    acted: bool = False  # the action is done: what follows is the outcome
    done: bool = False
    started: float = 0.0


class Crawler:
    """Breadth-first exploration of the DID's menus; ``crawl()`` returns the map."""

    def __init__(self, run: ScenarioRun, did: str, uri: str, agents: dict[str, str], settings: Settings,
                 say: Callable[[str], None] = lambda _: None) -> None:
        self.run, self.did, self.uri, self.agents, self.s, self.say = run, did, uri, agents, settings, say
        self.book = ClipBook()
        self.map = IvrMap(did)
        self.queue: deque[Probe] = deque()
        self.active: list[Probe] = []
        self.callers = sorted(run.caller_phone.values())
        self.caller_users = {phone: run.target.accounts[spec.account].username for spec in run.scenario.callers
                             for name, phone in run.caller_phone.items() if name == spec.name}
        self.busy: set[str] = set()
        self.calls = 0
        self.failures: list[str] = []

    # -- the crawl ---------------------------------------------------------------------------------
    def crawl(self) -> IvrMap:
        began = time.monotonic()
        self.queue.append(Probe(None, (), None))
        while self.queue or self.active:
            while self.queue and len(self.active) < len(self.callers) and self.calls < self.s.max_calls:
                self._start(self.queue.popleft())
            if not self.active:
                break  # the call budget is spent
            for probe in list(self.active):
                self._advance(probe)
                if probe.done:
                    self.active.remove(probe)
                    self.busy.discard(probe.phone)
                    self._learn(probe)
            self._idle(POLL)
        self.map.calls, self.map.seconds = self.calls, round(time.monotonic() - began, 1)
        if self.queue:
            self.failures.append(f"the call budget ({self.s.max_calls}) ran out with {len(self.queue)} "
                                 f"probe(s) left: the map is incomplete")
        self._mark_invalid()
        return self.map

    def _start(self, probe: Probe) -> None:
        phone = next(p for p in self.callers if p not in self.busy)
        self.busy.add(phone)
        self.calls += 1
        probe.phone, probe.handle, probe.started = phone, f"d{self.calls}", time.monotonic()
        probe.timeline = self.run.board.open_call(phone, probe.handle, self.uri, {})
        probe.deadline = time.monotonic() + self.s.answer_within + self.s.patience
        self.active.append(probe)

    def _idle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        try:
            self.run.board.wait(lambda: True if time.monotonic() >= end else None, seconds + 1.0,
                                lambda: "the crawl's calls")
        except HarnessError as exc:
            raise HarnessError(f"the crawl stopped: {exc}") from None

    # -- one probe, one poll at a time -------------------------------------------------------------
    def _advance(self, probe: Probe) -> None:
        tl = probe.timeline
        assert tl is not None
        now = time.monotonic()
        rang = self._agents_rung(probe)
        samples = self._capture(tl)
        ended = tl.state == "DISCONNECTED"
        if ended and tl.last("call", state="CONFIRMED") is None:
            self._finish(probe, error=f"the call to {self.uri} was not answered ({_status(tl)})")
            return
        if probe.sound_at is None:
            found = first_sound(samples, probe.since, threshold_dbfs=SOUND_DBFS) if samples.size else None
            if found is not None:
                probe.sound_at = found
                probe.deadline = now + self.s.max_listen
            elif ended or rang or now >= probe.deadline:
                self._stretch(probe, samples, ended, rang, waited=False)
                return
            return
        end = sound_end(samples, probe.sound_at, self.s.end_silence, threshold_dbfs=SOUND_DBFS)
        if end is not None or ended or rang or now >= probe.deadline:
            self._stretch(probe, samples, ended, rang, waited=end is not None and not ended and not rang)

    def _stretch(self, probe: Probe, samples: FloatArray, ended: bool, rang: tuple[str, ...], waited: bool) -> None:
        """A stretch is over: before the action it must end with the platform waiting (then the next
        key goes); after it, it is kept, and no input waits on."""
        start = probe.sound_at if probe.sound_at is not None else probe.since
        stop = samples.size / RATE
        if waited:
            end = sound_end(samples, start, self.s.end_silence, threshold_dbfs=SOUND_DBFS)
            stop = end if end is not None else stop
        audio = np.asarray(samples[int(start * RATE): int(stop * RATE)], dtype=np.float32)
        if not probe.acted:
            if not waited:
                what = "hung up" if ended else "rang an agent" if rang else "did not go quiet"
                self._finish(probe, error=f"the platform {what} before waiting for a key "
                                          f"({probe.step} of the path's {len(probe.path)} key(s) pressed)")
                return
            if probe.node is None:  # the first call: what it heard is the root's prompt
                probe.heard.append(Heard(audio, waited=True))
                self._finish(probe)
                return
            self._act(probe, samples)
            return
        probe.heard.append(Heard(audio, ended, rang, waited))
        if probe.action == NO_INPUT and waited and len(probe.heard) < NO_INPUT_CYCLES:
            self._listen_from(probe, samples.size / RATE, self.s.no_input_patience)  # and wait on
            return
        self._finish(probe)

    def _act(self, probe: Probe, samples: FloatArray) -> None:
        """The platform waits: press the path's next key, or do the probe's action."""
        tl = probe.timeline
        assert tl is not None
        if probe.step < len(probe.path):
            key = probe.path[probe.step]
            probe.step += 1
        else:
            key, probe.acted = probe.action or NO_INPUT, True
        if key != NO_INPUT:
            self.run.board.command(probe.phone, "dtmf", handle=tl.handle, digits=key, method="rfc4733")
        patience = self.s.no_input_patience if key == NO_INPUT else self.s.patience
        self._listen_from(probe, samples.size / RATE, patience)

    def _listen_from(self, probe: Probe, since: float, patience: float) -> None:
        probe.since, probe.sound_at = since, None
        probe.deadline = time.monotonic() + patience

    def _finish(self, probe: Probe, error: str = "") -> None:
        probe.error, probe.done = error, True
        tl = probe.timeline
        if tl is not None and tl.state != "DISCONNECTED":
            try:
                self.run.board.command(probe.phone, "hangup", handle=tl.handle)
            except HarnessError:
                pass
        for phone in self.agents.values():  # never leave an agent's phone ringing for the next probe
            for leg in self.run.board.calls_of(phone):
                if leg.state not in ("DISCONNECTED", "NULL") and leg.t0 >= probe.started:
                    try:
                        self.run.board.command(phone, "hangup", handle=leg.handle)
                    except HarnessError:
                        pass

    def _agents_rung(self, probe: Probe) -> tuple[str, ...]:
        """The agents whose phones were offered this probe's call: since it started, and -- when the
        platform shows the caller to the agent, as call centres do -- from this probe's caller."""
        me = self.caller_users.get(probe.phone, "")

        def ours(leg: CallTimeline) -> bool:
            offer = leg.events[0] if leg.events else None
            if leg.t0 < probe.started or offer is None or offer.kind != "incoming":
                return False
            remote = str(offer.data.get("remote") or "")
            shown = [u for u in self.caller_users.values() if f"{u}@" in remote or f":{u}>" in remote]
            return not shown or me in shown  # no caller shown: any ring since the probe began counts

        return tuple(sorted(name for name, phone in self.agents.items()
                            if any(ours(leg) for leg in self.run.board.calls_of(phone))))

    def _capture(self, tl: CallTimeline) -> FloatArray:
        return read_capture(tl.capture_path)

    # -- what a probe taught -----------------------------------------------------------------------
    def _learn(self, probe: Probe) -> None:
        where = f"{'/'.join(probe.path) or 'answer'} then {probe.action or 'listen'}"
        if probe.node is not None and probe.node not in self.map.nodes:
            return  # its menu turned out to be another one (merged): that one's probes tell the same
        if probe.error:
            self.failures.append(f"{where}: {probe.error}")
            self.say(f"  {where}: {probe.error}")
            return
        if probe.node is None:  # the root
            clips = self.book.explain(probe.heard[0].audio)
            if not clips:
                self.failures.append("the DID answered but played no prompt before waiting")
                return
            self._add_node((), clips)
            return
        outcomes = [self._outcome(h) for h in probe.heard]
        for outcome in outcomes:
            if outcome.kind == "menu" and outcome.to is None:
                outcome.to = self._new_menu(probe.path + (probe.action or "",), outcome.heard)
        edge = Edge(probe.node, probe.action or NO_INPUT, outcomes[0], outcomes[1:])
        self.map.edges.append(edge)
        self.say(f"  {self.map.nodes[probe.node].path or '(root)'} {edge.action}: {_said(outcomes[0])}")
        self._merge()

    def _merge(self) -> None:
        """Fold menus that the clips split since has shown to be one menu; drop their pending probes."""
        for gone, kept in same_menus(list(self.map.nodes.values()), lambda n: self.book.leaves(n.clips)[-1]):
            self.map.merge(gone, kept)
            self.queue = deque(p for p in self.queue if p.node != gone)
            self.say(f"menu {gone} is menu {kept} (the same menu prompt): merged")

    def _outcome(self, heard: Heard) -> Outcome:
        clips = self.book.explain(heard.audio)
        if heard.agents:
            return Outcome("queue", clips, agents=heard.agents)
        if heard.ended:
            return Outcome("hangup", clips)
        if not clips:
            return Outcome("silence")
        if not heard.waited:
            return Outcome("queue", clips)  # sound that never paused: hold music
        return Outcome("menu", clips, to=self._menu_of(clips))

    def _menu_of(self, clips: list[str]) -> str | None:
        last = self.book.leaves(clips)[-1]
        return next((n.id for n in self.map.nodes.values() if self.book.leaves(n.clips)[-1] == last), None)

    def _new_menu(self, path: tuple[str, ...], clips: list[str]) -> str:
        known = self._menu_of(clips)
        return known if known is not None else self._add_node(path, clips)

    def _add_node(self, path: tuple[str, ...], clips: list[str]) -> str:
        node = Node(f"n{len(self.map.nodes)}", path, clips)
        self.map.nodes[node.id] = node
        self.say(f"menu {node.id} at {'/'.join(path) or 'the answer'}: {len(clips)} clip(s)")
        if node.depth < self.s.max_depth:
            self.queue.extend(Probe(node.id, path, action) for action in (*self.s.keys, NO_INPUT))
        return node.id

    def _mark_invalid(self) -> None:
        """Keys whose outcome is the commonest back-to-the-same-menu message are the invalid keys."""
        for node in self.map.nodes.values():
            back = [e for e in self.map.edges_of(node.id) if e.action != NO_INPUT and e.outcome.kind == "menu"
                    and e.outcome.to == node.id and len(self.book.leaves(e.outcome.heard)) > 1]
            messages: dict[str, int] = {}
            for e in back:
                first = self.book.leaves(e.outcome.heard)[0]
                messages[first] = messages.get(first, 0) + 1
            if not messages:
                continue
            common = max(messages, key=lambda m: messages[m])
            for e in back:
                e.invalid = self.book.leaves(e.outcome.heard)[0] == common and messages[common] > 1


def _status(tl: CallTimeline) -> str:
    final = tl.final_status()
    return f"{final[0]} {final[1]}" if final else "no final status"


def _said(o: Outcome) -> str:
    heard = f"{len(o.heard)} clip(s)" if o.heard else "nothing"
    return {"menu": f"{heard}, then menu {o.to}", "queue": f"{heard}, then agents {', '.join(o.agents) or '?'}",
            "hangup": f"{heard}, then hang-up", "silence": "silence"}[o.kind]


