"""Drift: what changed between an IVR map written earlier and a fresh crawl of the same DID.

Menus are matched by their path (the keys from the answer). For each menu, in a reviewer's words:

* its prompt's audio changed -- the old WAV no longer matches what is played now (with the score);
* a menu appeared or went away;
* a key was added (it did nothing but the invalid-key message before) or removed (the reverse);
* a key goes somewhere else (another menu, a queue, a hang-up), or plays other prompts on the way;
* no input behaves differently (another chain of re-prompts before the hang-up).

Pure: two map documents (``ivr-map.yaml`` as written) and a way to score two prompts' audio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Score = Callable[[str, str], float | None]  # (old prompt name, new prompt name) -> match score, None: no audio


@dataclass(frozen=True)
class Change:
    menu: str  # the menu's name in the earlier map (the new map's for a new menu)
    what: str  # in a reviewer's words

    def line(self) -> str:
        return f"menu {self.menu}: {self.what}"


PROMPT_SAME = 0.8  # an old prompt matching the new at least this well is unchanged


def _where(out: dict[str, Any] | None, paths: dict[str, str]) -> str:
    """Where an outcome goes; a menu by its path (names may differ between the maps)."""
    if out is None:
        return "nothing"
    if "menu" in out:
        path = paths.get(str(out["menu"]))
        return "the invalid-key message" if out.get("invalid") else \
            f"the menu at {'keys ' + path if path else 'the answer'}" if path is not None else f"menu {out['menu']}"
    if "queue" in out:
        return f"a queue (agents {', '.join(out['queue'])})"
    return "a hang-up" if out.get("hangup") else "silence"


def _chain(out: dict[str, Any] | None, names: dict[str, str]) -> list[str]:
    if out is None:
        return []
    return [_where(o, names) for o in [out, *(out.get("then") or [])]]


def drift(old: dict[str, Any], new: dict[str, Any], score: Score) -> list[Change]:
    """Every change from ``old`` to ``new`` (both ``ivr-map.yaml`` documents); [] when none."""
    old_menus = {m["path"]: (name, m) for name, m in old["menus"].items()}
    new_menus = {m["path"]: (name, m) for name, m in new["menus"].items()}
    old_paths = {name: m["path"] for name, m in old["menus"].items()}
    new_paths = {name: m["path"] for name, m in new["menus"].items()}
    changes = [Change(old_menus[p][0], f"(keys {p or 'none'}) is gone: no key leads to it any more")
               for p in old_menus if p not in new_menus]
    changes += [Change(new_menus[p][0], f"(keys {p or 'none'}) is new") for p in new_menus if p not in old_menus]
    reported: set[str] = set()  # a changed prompt is named once, where it is first met
    for path in [p for p in old_menus if p in new_menus]:
        (name, was), (_, now) = old_menus[path], new_menus[path]
        changes += _prompt(name, was["prompt"], now["prompt"], score, reported)
        for key in sorted(set(was["keys"]) | set(now["keys"])):
            before, after = was["keys"].get(key), now["keys"].get(key)
            b, a = _where(before, old_paths), _where(after, new_paths)
            if before is not None and before.get("invalid") and (after is None or not after.get("invalid")):
                changes.append(Change(name, f"key {key} was added: it now leads to {a}"))
            elif after is not None and after.get("invalid") and (before is None or not before.get("invalid")):
                changes.append(Change(name, f"key {key} was removed: it led to {b}, now the invalid-key message"))
            elif b != a:
                changes.append(Change(name, f"key {key} now leads to {a}, not {b}"))
            elif before is not None and after is not None and not before.get("invalid"):
                changes += _heard(name, f"key {key}", before, after, score, reported)
        b_chain, a_chain = _chain(was.get("no_input"), old_paths), _chain(now.get("no_input"), new_paths)
        if b_chain != a_chain:
            changes.append(Change(name, f"no input now leads to {' then '.join(a_chain) or 'nothing'}, not "
                                        f"{' then '.join(b_chain) or 'nothing'}"))
    return changes


def _prompt(name: str, was: list[str], now: list[str], score: Score, reported: set[str]) -> list[Change]:
    if len(was) != len(now):
        return [Change(name, f"its prompt is now {len(now)} part(s), not {len(was)}")]
    return [Change(name, f"prompt {old} changed: the audio played now matches the old recording with "
                         f"score {s:.2f} (at least {PROMPT_SAME} for the same)")
            for old, s in _changed(was, now, score, reported)]


def _heard(name: str, action: str, before: dict[str, Any], after: dict[str, Any], score: Score,
           reported: set[str]) -> list[Change]:
    was, now = list(before.get("heard") or []), list(after.get("heard") or [])
    if len(was) != len(now):
        return [Change(name, f"{action} now plays {len(now)} prompt(s) on the way, not {len(was)}")]
    return [Change(name, f"{action}: prompt {old} changed (score {s:.2f})")
            for old, s in _changed(was, now, score, reported)]


def _changed(was: list[str], now: list[str], score: Score, reported: set[str]) -> list[tuple[str, float]]:
    """(old prompt, score) of each prompt, in order, whose audio no longer matches; each old prompt
    is reported once over the whole comparison (``reported``)."""
    out = []
    for old_name, new_name in zip(was, now, strict=True):
        s = score(old_name, new_name) if old_name not in reported else None
        if s is not None and s < PROMPT_SAME:
            reported.add(old_name)
            out.append((old_name, s))
    return out
