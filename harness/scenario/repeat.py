"""``repeat:`` -- a block of steps written once and run several times.

::

    - repeat:
        each: [c1, c2, c3]      # or count: 3 (then the name counts 1, 2, 3)
        as: call                # the name bound in the block (default: n for count, item for each)
        steps:
          - call: {to: "did:sales", id: "${call}"}
          - expect_agent: {agents: [agent1, agent2], within: 15s}
          - hangup

Repeats are unrolled on the marked YAML, before the schema sees the file: every
repetition's steps become ordinary steps whose line marks still point inside the
block, and a problem in one names where it was written and which repetition it
is (``steps[1].repeat.steps[0].call.to (repetition 2 of 3, call=c2)``).  A
``${name}`` that is a whole string takes the value as it is (a number stays a
number); inside a longer string it is replaced by its text.  A block that is not
well formed is left as written, for the schema to report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.spec.yamlmarks import DataPath, MarkedDoc

MAX_TIMES = 100  # repetitions of one block: a scenario is a few minutes of calls
_FIELDS = {"count", "each", "as", "steps"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REFERENCE = re.compile(r"\$\{([^}]*)\}")


def expand_repeats(doc: MarkedDoc) -> None:
    """Unroll every well-formed ``repeat:`` of ``doc``'s steps, in place (data and marks)."""
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    if not isinstance(steps, list) or not any(_well_formed(item) for item in steps):
        return
    out: list[Any] = []
    moved: dict[int, list[tuple[int, DataPath, str]]] = {}  # old index -> (new, origin, note)
    for k, item in enumerate(steps):
        if not _well_formed(item):
            moved[k] = [(len(out), ("steps", k), "")]
            out.append(item)
            continue
        moved[k] = []
        for new_item, m, note in _unroll(doc, k, item["repeat"]):
            moved[k].append((len(out), ("steps", k, "repeat", "steps", m), note))
            out.append(new_item)
    doc.data["steps"] = out
    _move_marks(doc, moved)


def _well_formed(item: Any) -> bool:
    if not (isinstance(item, dict) and len(item) == 1 and "repeat" in item):
        return False
    body = item["repeat"]
    if not isinstance(body, dict) or not set(body) <= _FIELDS or ("count" in body) == ("each" in body):
        return False
    count, each, name, steps = body.get("count"), body.get("each"), body.get("as"), body.get("steps")
    times_ok = (isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_TIMES) if \
        "count" in body else (isinstance(each, list) and 1 <= len(each) <= MAX_TIMES
                              and all(isinstance(v, str | int | float) for v in each))
    name_ok = name is None or (isinstance(name, str) and bool(_NAME.match(name)))
    return times_ok and name_ok and isinstance(steps, list) and len(steps) > 0


def _unroll(doc: MarkedDoc, k: int, body: Mapping[str, Any]) -> list[tuple[Any, int, str]]:
    """Each repetition's steps: (the step with its names bound, index in the block, note)."""
    values = list(range(1, body["count"] + 1)) if "count" in body else list(body["each"])
    name = body.get("as") or ("n" if "count" in body else "item")
    out = []
    for r, value in enumerate(values):
        note = f"repetition {r + 1} of {len(values)}, {name}={value}"
        for m, step in enumerate(body["steps"]):
            at = ("steps", k, "repeat", "steps", m)
            if _is_repeat(step):
                doc.problems.append(doc.problem(at + ("repeat",), "a repeat inside a repeat is not supported",
                                                "unroll the inner one, or list its values in one each:"))
                continue
            out.append((_bind(doc, at, step, name, value, r == 0), m, note))
    return out


def _is_repeat(step: Any) -> bool:
    return isinstance(step, dict) and "repeat" in step


def _bind(doc: MarkedDoc, at: DataPath, value: Any, name: str, bound: Any, report: bool) -> Any:
    """``value`` with ``${name}`` replaced; an unknown name is reported once (``report``)."""
    if isinstance(value, dict):
        return {key: _bind(doc, at + (key,), v, name, bound, report) for key, v in value.items()}
    if isinstance(value, list):
        return [_bind(doc, at + (i,), v, name, bound, report) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    unknown = sorted({ref for ref in _REFERENCE.findall(value) if ref != name})
    if unknown and report:
        doc.problems.append(doc.problem(at, f"unknown name ${{{unknown[0]}}} in a repeat",
                                        f"this block binds ${{{name}}} (set as: to rename it)"))
    if value == f"${{{name}}}":
        return bound
    return value.replace(f"${{{name}}}", str(bound))


def _move_marks(doc: MarkedDoc, moved: Mapping[int, list[tuple[int, DataPath, str]]]) -> None:
    """Re-key the marks of ``steps[...]`` to the unrolled indices; name each copy's origin."""
    kept = {path: info for path, info in doc.nodes.items() if not _under_steps(path)}
    steps = [(path, info) for path, info in doc.nodes.items() if _under_steps(path)]
    for _old, targets in moved.items():
        for new, origin, note in targets:
            for path, info in steps:
                if path[:len(origin)] == origin:
                    kept[("steps", new) + path[len(origin):]] = info
            if note or origin != ("steps", new):  # a step after a repeat is named as written
                doc.aliases[("steps", new)] = (origin, note)
    doc.nodes = kept


def _under_steps(path: DataPath) -> bool:
    return len(path) >= 2 and path[0] == "steps"

