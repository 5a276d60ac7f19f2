"""An IVR map as a crawl finds it: menus (nodes), and what each key, no input, does (edges).

A node is a menu the platform plays and then waits at: its prompt is a sequence of clips
(``harness.discover.clips``), the last of which is the menu itself -- a greeting before it
is part of the node's first visit only. An edge is one action at a node (a key, or no
input) and what followed: the clips heard, then where the call went.

Outcomes:

* ``menu``: the platform played the clips and waits again, at node ``to`` (a new menu, or
  a known one: a loop back, a re-prompt after an invalid key);
* ``queue``: the call was put to agents (their phones rang: ``agents``), or hold music;
* ``hangup``: the platform played the clips and hung up;
* ``silence``: nothing happened within the crawl's patience, the call still up.

No input is followed through its repeats: ``then`` holds what each further wait brought
(a re-prompt, and another, then goodbye and a hang-up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

KEYS = "0123456789*#"
NO_INPUT = "timeout"


@dataclass
class Outcome:
    kind: str  # menu, queue, hangup, silence
    heard: list[str] = field(default_factory=list)  # clip ids, in order
    to: str | None = None  # the node, for menu
    agents: tuple[str, ...] = ()  # the agent accounts whose phones rang, for queue

    def same_as(self, other: Outcome) -> bool:
        return (self.kind, self.heard, self.to, self.agents) == (other.kind, other.heard, other.to, other.agents)


@dataclass
class Edge:
    node: str
    action: str  # a key, or NO_INPUT
    outcome: Outcome
    then: list[Outcome] = field(default_factory=list)  # no input: what each further wait brought
    invalid: bool = False  # a key the menu refuses (the message most keys get, back to the same menu)


@dataclass
class Node:
    id: str
    path: tuple[str, ...]  # the keys from the DID's answer to this menu
    clips: list[str]  # the prompt heard on arrival; the last clip is the menu
    name: str = ""  # the user's name for it (kept when the map is regenerated)

    @property
    def depth(self) -> int:
        return len(self.path)


@dataclass
class IvrMap:
    did: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    calls: int = 0
    seconds: float = 0.0

    def edges_of(self, node: str) -> list[Edge]:
        return [e for e in self.edges if e.node == node]

    def merge(self, gone: str, kept: str) -> None:
        """Menu ``gone`` is menu ``kept`` after all: every way to it leads to ``kept``, its own edges go."""
        for edge in self.edges:
            for outcome in (edge.outcome, *edge.then):
                if outcome.to == gone:
                    outcome.to = kept
        self.edges = [e for e in self.edges if e.node != gone]
        del self.nodes[gone]


def same_menus(nodes: list[Node], last_clip: Callable[[Node], str]) -> list[tuple[str, str]]:
    """(menu, the earlier menu it is) for menus whose menu prompt -- the last clip, as now known --
    is an earlier one's: a menu heard first inside a longer stretch (an invalid-key message and the
    menu, before the menu was ever heard alone) is told apart only once the clips are split."""
    first: dict[str, str] = {}
    pairs = []
    for node in sorted(nodes, key=lambda n: (n.depth, n.path)):
        clip = last_clip(node)
        if clip in first:
            pairs.append((node.id, first[clip]))
        else:
            first[clip] = node.id
    return pairs
