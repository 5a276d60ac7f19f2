"""What a crawl writes (``DIR``): the IVR map, its picture, the prompt library, a generated suite.

* ``ivr-map.yaml``: the menus (by name: the DID's name for the first, then the keys that
  lead there, ``main_3``), each with its prompt and, per key and for no input, what is heard
  and where the call goes;
* ``ivr-map.svg``: the same as a picture, one column per depth (a run of the suite carries it
  into its run folder, and the evidence report shows it: ``harness.runner.result.ivr_map_of``);
* ``prompts/``: ``prompts.yaml`` and one WAV per clip, named by where it is first heard
  (``main`` the menu, ``main_intro`` what comes before it on the first visit, ``main_key9``
  the message after key 9, ``main_invalid``, ``main_no_input``, ``main_no_input_end``);
* ``suite/``: one scenario per way out of each menu -- every key that does something else
  than the invalid-key message, one invalid key, and no input -- each naming ``prompts/`` as
  its prompt library, so that ``ccharness validate`` accepts it and ``ccharness run DIR/suite``
  passes on the platform it was discovered on, with the profile as it is.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from harness.discover.clips import ClipBook
from harness.discover.compare import EarlierMap, read_earlier
from harness.discover.model import NO_INPUT, IvrMap, Node, Outcome
from harness.prompts.cut import trim
from harness.prompts.library import Entry, write_library
from harness.targets.model import Target

MAP = "ivr-map.yaml"
PICTURE = "ivr-map.svg"
SUITE = "suite"
PROMPT_WITHIN = 10  # seconds a generated expect_prompt allows
_KEY_NAMES = {"*": "star", "#": "hash"}


@dataclass
class Written:
    map: Path
    picture: Path
    prompts: Path
    suite: list[Path] = field(default_factory=list)


@dataclass
class Names:
    """Names for nodes and clips, given in the order a reader meets them."""

    book: ClipBook
    earlier: EarlierMap | None = None  # the folder's map before this crawl: its names are kept
    nodes: dict[str, str] = field(default_factory=dict)
    clips: dict[str, str] = field(default_factory=dict)

    def clip(self, clip: str, wanted: str) -> str:
        if clip not in self.clips and self.earlier is not None:
            kept = self.earlier.prompt_like(self.book.clips[clip], set(self.clips.values()))
            if kept is not None:
                self.clips[clip] = kept
        if clip not in self.clips:
            name, n = wanted, 2
            while name in self.clips.values():
                name, n = f"{wanted}_{n}", n + 1
            self.clips[clip] = name
        return self.clips[clip]

    def heard(self, clips: list[str], wanted: str) -> list[str]:
        leaves = self.book.leaves(clips)
        return [self.clip(c, wanted if i == 0 else f"{wanted}_{i + 1}") for i, c in enumerate(leaves)]


def write_all(found: IvrMap, book: ClipBook, out: Path, target: Target) -> Written:
    earlier = read_earlier(out / MAP) if (out / MAP).exists() else None
    names = _name(found, book, earlier)
    out.mkdir(parents=True, exist_ok=True)
    doc = _map_doc(found, names, target)
    map_path = out / MAP
    map_path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    picture = out / PICTURE
    picture.write_text(svg(doc), encoding="utf-8")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entries = [Entry(name, trim(book.clips[clip]), "", "",
                     f"heard on {target.name} DID {found.did}, discovered {now}")
               for clip, name in names.clips.items()]
    library, _ = write_library(out / "prompts", entries,
                               [f"Prompts of DID {found.did} on {target.name}, as ccharness discover heard them "
                                f"({now}); rename them here and in ivr-map.yaml and the suite together."])
    suite = write_suite(found, names, out / SUITE)
    return Written(map_path, picture, library, suite)


# -- names -----------------------------------------------------------------------------------------
def _name(found: IvrMap, book: ClipBook, earlier: EarlierMap | None = None) -> Names:
    """Menus by the keys that lead there, prompts by where they are first heard -- or, in a folder
    crawled before, the names its map gives them (the user may have renamed them)."""
    names = Names(book, earlier)
    kept = earlier.menu_names if earlier is not None else {}
    for node in sorted(found.nodes.values(), key=lambda n: (n.depth, n.path)):
        names.nodes[node.id] = kept.get("".join(node.path)) or \
            found.did + "".join(f"_{_KEY_NAMES.get(k, k)}" for k in node.path)
    for node in sorted(found.nodes.values(), key=lambda n: (n.depth, n.path)):
        base = names.nodes[node.id]
        leaves = book.leaves(node.clips)
        names.clip(leaves[-1], base)
        for i, clip in enumerate(leaves[:-1]):
            names.clip(clip, f"{base}_intro" if i == 0 else f"{base}_intro{i + 1}")
    for node in sorted(found.nodes.values(), key=lambda n: (n.depth, n.path)):
        base = names.nodes[node.id]
        for edge in found.edges_of(node.id):
            what = "invalid" if edge.invalid else "no_input" if edge.action == NO_INPUT else \
                f"key{_KEY_NAMES.get(edge.action, edge.action)}"
            for i, outcome in enumerate([edge.outcome, *edge.then]):
                names.heard(outcome.heard, f"{base}_{what}" + ("" if i == 0 else "_end" if i == len(edge.then)
                                                                else f"_{i + 1}"))
    return names


# -- the map ---------------------------------------------------------------------------------------
def _outcome_doc(o: Outcome, names: Names) -> dict[str, Any]:
    doc: dict[str, Any] = {"heard": [names.clips[c] for c in names.book.leaves(o.heard)]}
    if o.kind == "menu":
        doc["menu"] = names.nodes[o.to] if o.to is not None else None
    elif o.kind == "queue":
        doc["queue"] = list(o.agents)
    elif o.kind == "hangup":
        doc["hangup"] = True
    else:
        doc["silence"] = True
    return doc


def _map_doc(found: IvrMap, names: Names, target: Target) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for node in sorted(found.nodes.values(), key=lambda n: (n.depth, n.path)):
        keys: dict[str, Any] = {}
        no_input: dict[str, Any] | None = None
        for edge in sorted(found.edges_of(node.id), key=lambda e: e.action):
            doc = _outcome_doc(edge.outcome, names)
            if edge.invalid:
                doc["invalid"] = True
            if edge.action == NO_INPUT:
                if edge.then:
                    doc["then"] = [_outcome_doc(o, names) for o in edge.then]
                no_input = doc
            else:
                keys[edge.action] = doc
        nodes[names.nodes[node.id]] = {"path": "".join(node.path), "depth": node.depth,
                                       "prompt": [names.clips[c] for c in names.book.leaves(node.clips)],
                                       "keys": keys, "no_input": no_input}
    return {"did": found.did, "target": target.name,
            "crawled": {"at": datetime.now(UTC).isoformat(timespec="seconds"), "calls": found.calls,
                        "seconds": found.seconds},
            "menus": nodes}


# -- the picture -----------------------------------------------------------------------------------
def svg(doc: dict[str, Any]) -> str:
    """One column per depth; a box per menu; per key an arrow to a menu or a leaf (queue, hang-up)."""
    menus: dict[str, Any] = doc["menus"]
    columns: dict[int, list[str]] = {}
    for name, menu in menus.items():
        columns.setdefault(int(menu["depth"]), []).append(name)
    box_w, box_h, gap_x, row_h = 170, 34, 150, 26
    at: dict[str, tuple[int, int]] = {}
    leaves: list[tuple[str, str, str]] = []  # (menu, label, text)
    for depth, names in sorted(columns.items()):
        for i, name in enumerate(names):
            at[name] = (20 + depth * (box_w + gap_x), 40 + i * 220)
    parts: list[str] = []
    height = 0
    for name, menu in menus.items():
        x, y = at[name]
        rows = [(k, v) for k, v in menu["keys"].items() if not v.get("invalid")]
        invalid = [k for k, v in menu["keys"].items() if v.get("invalid")]
        if invalid:
            rows.append(("".join(invalid), {**menu["keys"][invalid[0]], "label": "invalid"}))
        if menu.get("no_input"):
            rows.append(("none", menu["no_input"]))
        parts.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" class="menu"/>'
                     f'<text x="{x + 8}" y="{y + 22}" class="name">{html.escape(name)}</text>')
        for j, (key, out) in enumerate(rows):
            ry = y + box_h + 8 + j * row_h
            target = out.get("menu")
            where = (f"→ {target}" if target else "queue: " + ", ".join(out.get("queue") or []) if "queue" in out
                     else "hang-up" if out.get("hangup") else "silence")
            said = ", ".join(out.get("heard") or [])
            label = f"{key}: {out.get('label', '')} {where}".replace("  ", " ")
            parts.append(f'<text x="{x + 12}" y="{ry + 12}" class="edge">{html.escape(label)}</text>'
                         f'<text x="{x + 12}" y="{ry + 23}" class="heard">{html.escape(said)}</text>')
            if target in at and target != name:
                tx, ty = at[target]
                parts.append(f'<line x1="{x + box_w}" y1="{ry + 8}" x2="{tx}" y2="{ty + box_h / 2}" class="arrow"/>')
            height = max(height, ry + row_h)
        leaves.append((name, "", ""))
    width = 40 + (max(columns) + 1) * (box_w + gap_x) if columns else 200
    title = html.escape(f"IVR map of DID {doc['did']} on {doc['target']}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" '
            f'viewBox="0 0 {width} {height + 20}" font-family="sans-serif">'
            '<style>.menu{fill:#eef4ff;stroke:#35507a}.name{font-size:14px;font-weight:bold}'
            '.edge{font-size:11px}.heard{font-size:9px;fill:#666}.arrow{stroke:#35507a;stroke-width:1}</style>'
            f'<text x="20" y="22" font-size="15">{title}</text>{"".join(parts)}</svg>\n')


# -- the suite -------------------------------------------------------------------------------------
def _to_node(found: IvrMap, node: Node, names: Names) -> list[str]:
    """Steps that take a fresh call from the answer to ``node``'s menu, each prompt heard on the way."""
    steps = ['  - call: {to: "did:' + found.did + '"}', "  - expect_answer: {within: 10s}"]
    steps += _prompts(names.book.leaves(found.nodes[_root(found)].clips), names)
    current = _root(found)
    for key in node.path:
        edge = next(e for e in found.edges_of(current) if e.action == key)
        steps.append(f'  - send_dtmf: {{digits: "{key}"}}')
        steps += _prompts(names.book.leaves(edge.outcome.heard), names)
        current = edge.outcome.to or current
    return steps


def _prompts(clips: list[str], names: Names) -> list[str]:
    return [f"  - expect_prompt: {{prompt: {names.clips[c]}, within: {PROMPT_WITHIN}s}}" for c in clips]


def _root(found: IvrMap) -> str:
    return next(n.id for n in found.nodes.values() if not n.path)


def write_suite(found: IvrMap, names: Names, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.scenario.yaml"):
        old.unlink()  # the suite is regenerated whole: no scenario of an old map is left behind
    written = []
    agents = sorted({a for e in found.edges for o in (e.outcome, *e.then) for a in o.agents})
    for node in sorted(found.nodes.values(), key=lambda n: (n.depth, n.path)):
        base = names.nodes[node.id]
        edges = found.edges_of(node.id)
        invalid = [e for e in edges if e.invalid]
        chosen = [e for e in edges if not e.invalid] + invalid[:1]
        for edge in chosen:
            what = ("an invalid key (" + "".join(e.action for e in invalid) + ")" if edge.invalid else
                    "no input" if edge.action == NO_INPUT else f"key {edge.action}")
            kind = "invalid" if edge.invalid else "no_input" if edge.action == NO_INPUT else \
                "key" + _KEY_NAMES.get(edge.action, edge.action)
            file = folder / f"{base}_{kind}.scenario.yaml"
            steps = _to_node(found, node, names)
            if edge.action != NO_INPUT:
                steps.append(f'  - send_dtmf: {{digits: "{edge.action}"}}')
            uses_agents = False
            for outcome in [edge.outcome, *edge.then]:
                within = 30 if edge.action == NO_INPUT else PROMPT_WITHIN
                for i, clip in enumerate(names.book.leaves(outcome.heard)):
                    steps.append(f"  - expect_prompt: {{prompt: {names.clips[clip]}, within: "
                                 f"{within if i == 0 else PROMPT_WITHIN}s}}")
                if outcome.kind == "hangup":
                    steps.append("  - expect_hangup: {within: 10s}")
                elif outcome.kind == "queue" and outcome.agents:
                    steps.append(f"  - expect_agent: {{agents: [{', '.join(agents)}], within: 20s}}")
                    uses_agents = True
            if edge.outcome.kind != "hangup":
                steps.append("  - hangup")
            lines = [f"name: \"{found.did} menu {base}: {what}\"",
                     "description: >",
                     f"  Generated by ccharness discover from the IVR map (ivr-map.yaml): at menu {base}"
                     f" (keys {''.join(node.path) or 'none'} from the answer), {what}. Edit freely.",
                     "licence_item: ivr", "tags: [ivr, discovered]", "deadline: 120s",
                     "prompts: ../prompts/prompts.yaml   # the prompts as the crawl heard them"]
            if uses_agents:
                lines += ["agents:", *[f"  {a}: {{answer_after: 0.5s}}" for a in agents]]
            file.write_text("\n".join([*lines, "steps:", *steps]) + "\n", encoding="utf-8")
            written.append(file)
    return written

