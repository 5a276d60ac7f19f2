"""Filters in a recording name's placeholders: what the dialplan did to a value before naming
the file with it.

``{call_id|replace:@:_|replace:.:_|lower}`` is the Call-ID with ``@`` and ``.`` replaced by
``_``, lower-cased: the filters apply left to right, as the dialplan's functions nest
(``${TOLOWER(${REPLACE(${REPLACE(${CHANNEL(pjsip,call-id)},@,_)},.,_)})}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_APPLY: dict[str, Callable[[str, tuple[str, ...]], str]] = {
    "alnum": lambda text, _: _NOT_ALNUM.sub("", text),  # ${FILTER(0-9A-Za-z,...)}
    "replace": lambda text, args: text.replace(args[0], args[1]),  # ${REPLACE(...,OLD,NEW)}
    "lower": lambda text, _: text.lower(),  # ${TOLOWER(...)}
    "upper": lambda text, _: text.upper(),  # ${TOUPPER(...)}
    "hex": lambda text, _: text.encode("utf-8").hex(),  # the UTF-8 bytes as lower-case hex
}
_ARGS = {"alnum": 0, "replace": 2, "lower": 0, "upper": 0, "hex": 0}
KNOWN = "alnum, replace:OLD:NEW, lower, upper, hex"  # as a message lists them


@dataclass(frozen=True)
class Filter:
    """One filter: its name and its arguments (``replace``'s OLD and NEW)."""

    name: str
    args: tuple[str, ...] = ()

    def apply(self, text: str) -> str:
        return _APPLY[self.name](text, self.args)

    def __str__(self) -> str:
        return ":".join((self.name, *self.args))


def parse_filter(spec: str) -> Filter:
    """``replace:@:_`` -> ``Filter("replace", ("@", "_"))``; ValueError naming the known ones."""
    name, *args = spec.split(":")
    if name not in _APPLY:
        raise ValueError(f"{name!r} is not a filter (known filters: {KNOWN})")
    if len(args) != _ARGS[name]:
        wanted = "no argument" if not _ARGS[name] else "two arguments, replace:OLD:NEW"
        raise ValueError(f"{name} takes {wanted} (known filters: {KNOWN})")
    if name == "replace" and not args[0]:
        raise ValueError(f"replace needs the text to replace, e.g. replace:@:_ "
                         f"(known filters: {KNOWN})")
    return Filter(name, tuple(args))


def apply(filters: Iterable[Filter], text: str) -> str:
    """``text`` through ``filters``, left to right."""
    for one in filters:
        text = one.apply(text)
    return text
