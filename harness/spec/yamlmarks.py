"""Read a YAML file keeping where every key and value was written.

PyYAML's ``SafeLoader`` is used only to *compose* the node tree; plain Python
values are then built here, so that a side table can record, for every data
path such as ``("steps", 2, "send_dtmf", "digits")``, the line and column of
the key and of the value, and the scalar's text as written.  Building the
values ourselves is also what lets us report duplicate keys, which PyYAML
accepts silently (the last one wins).

Nothing here raises on bad input: problems are collected on the returned
``MarkedDoc`` so that the caller can report them with its own later findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import Problem

MAX_BYTES = 1 << 20
MAX_NODES = 100_000  # an alias "billion laughs" would otherwise expand without end

DataPath = tuple[str | int, ...]

_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")  # the breaks YAML itself counts
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Hints for the PyYAML complaints people actually meet.
_SYNTAX_HINTS = {
    "mapping values are not allowed here": "quote a value that contains ': '",
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "found undefined alias": "an alias *NAME needs an anchor &NAME before it",
    "expected a single document in the stream": "one scenario per file: remove the extra '---'",
    "found unexpected end of stream": "a quote or bracket is not closed",
}


@dataclass(frozen=True)
class Mark:
    """Where something was written: file, 1-based line and column."""

    path: Path
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Spot:
    """A 1-based line and column in the source text."""

    line: int
    col: int


@dataclass(frozen=True)
class NodeInfo:
    """Where one value (and the key that names it, if any) was written."""

    value: Spot
    end: Spot
    key: Spot | None = None
    raw: str | None = None  # a scalar's text as written, without quotes
    plain: bool = False  # the scalar was written without quotes

    @property
    def spot(self) -> Spot:
        """Where to point at: the key when there is one, as a reader scans keys."""
        return self.key or self.value


@dataclass
class MarkedDoc:
    """A YAML document as plain values, with a table of where each one was written."""

    path: Path
    lines: list[str] = field(default_factory=list)
    data: Any = None
    nodes: dict[DataPath, NodeInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    readable: bool = False  # False: the file could not be parsed at all
    secret_keys: re.Pattern[str] | None = None  # values under these keys never reach a snippet
    # a step unrolled from a repeat, or moved by one: its path -> (where it was written, which
    # repetition, or "" for a step written outside any repeat)
    aliases: dict[DataPath, tuple[DataPath, str]] = field(default_factory=dict)

    def info(self, dpath: DataPath) -> NodeInfo | None:
        """The record of ``dpath``, or of its nearest recorded ancestor."""
        for n in range(len(dpath), -1, -1):
            found = self.nodes.get(dpath[:n])
            if found is not None:
                return found
        return None

    def spot(self, dpath: DataPath) -> Spot:
        """Where ``dpath`` (or its nearest written ancestor) was written."""
        found = self.info(dpath)
        return found.spot if found else Spot(0, 0)

    def mark(self, dpath: DataPath) -> Mark:
        """A ``Mark`` for the model objects built from ``dpath``."""
        spot = self.spot(dpath)
        return Mark(self.path, spot.line, spot.col)

    def problem(
        self, dpath: DataPath, message: str, hint: str = "", redact: bool = False
    ) -> Problem:
        """A problem located at ``dpath``; ``redact`` hides the value in the snippet."""
        found = self.info(dpath)
        spot = found.spot if found else Spot(0, 0)
        lines = list(self.lines)
        if redact and found and 0 < found.value.line <= len(lines):
            lines[found.value.line - 1] = _redacted(
                lines[found.value.line - 1], found.value, found.end
            )
        snippet = render_snippet(self.shown_lines(lines), [spot])
        return Problem(self.path, spot.line, spot.col, self.field(dpath), message, hint, snippet)

    def field(self, dpath: DataPath) -> str:
        """``dpath`` as a reader finds it in the file: a repeated step by where it was written."""
        if dpath[:2] not in self.aliases:
            return field_name(dpath)
        origin, note = self.aliases[dpath[:2]]
        named = field_name(origin + dpath[2:])
        return f"{named} ({note})" if note else named

    def shown_lines(self, lines: list[str] | None = None) -> list[str]:
        """The source lines as a snippet may show them: literal secrets blanked out."""
        lines = self.lines if lines is None else lines
        if self.secret_keys is None:
            return lines
        return [hide_secrets(line, self.secret_keys) for line in lines]


_KEY_VALUE = re.compile(
    r"""(?P<key>[A-Za-z0-9_-]+)["']?\s*:\s+(?P<value>"[^"]*"?|'[^']*'?|[^\s,{}\[#][^,}#]*)"""
)


def hide_secrets(line: str, secret_keys: re.Pattern[str]) -> str:
    """Blank the value of every ``key: value`` on ``line`` whose key looks secret.

    Works on text, not on the parse, so that it also covers lines of a file
    that did not parse.  ``${ENV:NAME}`` references are not secrets and stay.
    A value never starts with ``{`` or ``[``: a flow mapping's keys are looked at
    one by one (``auth: {api_key: x}`` blanks x).
    """

    def blank(match: re.Match[str]) -> str:
        value = match.group("value").strip()
        if not secret_keys.search(match.group("key")) or value.strip("\"'").startswith("${ENV:"):
            return match.group(0)
        return match.group(0)[: match.start("value") - match.start()] + "***"

    return _KEY_VALUE.sub(blank, line)


def field_name(dpath: DataPath) -> str:
    """``("steps", 2, "send_dtmf", "digits")`` -> ``steps[2].send_dtmf.digits``."""
    text = ""
    for part in dpath:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def render_snippet(lines: list[str], spots: list[Spot]) -> str:
    """Number the lines of ``spots`` and put a caret under each column.

    One spot also shows the line before it, for context; several spots show
    only their own lines, with ``...`` where lines are skipped.
    """
    spots = sorted({s for s in spots if 0 < s.line <= len(lines)}, key=lambda s: (s.line, s.col))
    if not spots:
        return ""
    out: list[str] = []
    if len(spots) == 1 and spots[0].line > 1 and lines[spots[0].line - 2].strip():
        out.append(_numbered(spots[0].line - 1, lines[spots[0].line - 2]))
    previous = 0
    for spot in spots:
        if previous and spot.line > previous + 1:
            out.append(f"{'':5} | ...")
        text = lines[spot.line - 1]
        out.append(_numbered(spot.line, text))
        padding = "".join("\t" if c == "\t" else " " for c in text[: spot.col - 1])
        out.append(f"{'':5} | {padding}^")
        previous = spot.line
    return "\n".join(out)


def _numbered(number: int, text: str) -> str:
    return f"{number:>5} | {text}".rstrip()


def _redacted(text: str, start: Spot, end: Spot) -> str:
    stop = end.col - 1 if end.line == start.line else len(text)
    return text[: start.col - 1] + "***" + text[stop:]


def read_marked(
    path: Path, empty_hint: str = "", secret_keys: re.Pattern[str] | None = None
) -> MarkedDoc:
    """Read ``path`` into a ``MarkedDoc``; problems are collected on it, never raised.

    Refuses files over 1 MiB before reading them, reports bytes that are not
    UTF-8, YAML syntax errors, empty files and duplicate keys.  Values under
    keys matching ``secret_keys`` are blanked out of every snippet.
    """
    doc = MarkedDoc(path, secret_keys=secret_keys)
    raw = _read_bytes(doc)
    text = _decode(doc, raw) if raw is not None else None
    if text is None:
        return doc
    doc.lines = _LINE_BREAK.split(text)
    root = _compose(doc, text)
    if root is None:
        if not doc.problems:
            doc.problems.append(Problem(path, 0, 0, "", "the file is empty", empty_hint))
        return doc
    try:
        doc.data = _Builder(doc).value(root, (), None)
    except _TooBig as stop:
        doc.problems.append(doc.problem(stop.dpath, str(stop)))
        return doc
    doc.readable = True
    return doc


def _read_bytes(doc: MarkedDoc) -> bytes | None:
    try:
        size = doc.path.stat().st_size
        if size > MAX_BYTES:
            message = f"the file is {size / MAX_BYTES:.1f} MiB, more than the 1 MiB limit"
            doc.problems.append(Problem(doc.path, 0, 0, "", message))
            return None
        return doc.path.read_bytes()
    except OSError as err:
        doc.problems.append(Problem(doc.path, 0, 0, "", f"cannot read the file: {err.strerror}"))
        return None


def _decode(doc: MarkedDoc, raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = raw.rfind(b"\n", 0, err.start) + 1
        line = raw.count(b"\n", 0, err.start) + 1
        stop = raw.find(b"\n", err.start)
        text = raw[start : stop if stop >= 0 else len(raw)].decode("utf-8", "replace")
        text = hide_secrets(text, doc.secret_keys) if doc.secret_keys else text
        col = len(raw[start : err.start].decode("utf-8", "replace")) + 1
        message = f"not UTF-8: byte 0x{raw[err.start]:02x} at offset {err.start}"
        snippet = render_snippet([""] * (line - 1) + [text], [Spot(line, col)])
        doc.problems.append(
            Problem(doc.path, line, col, "", message, "save the file as UTF-8", snippet)
        )
        return None


def _compose(doc: MarkedDoc, text: str) -> Node | None:
    try:
        node: Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        return node
    except yaml.MarkedYAMLError as err:
        doc.problems.append(_syntax_problem(doc, err))
    except yaml.YAMLError as err:  # e.g. a control character: a ReaderError, with no mark
        doc.problems.append(Problem(doc.path, 0, 0, "", f"invalid YAML: {err}"))
    return None


def _syntax_problem(doc: MarkedDoc, err: yaml.MarkedYAMLError) -> Problem:
    problem = err.problem or err.context or "unreadable"
    mark = err.problem_mark or err.context_mark
    unclosed = "<stream end>" in problem and err.context_mark is not None
    if unclosed:  # the end of the file is no help: point at what was left open
        mark = err.context_mark
    spot = Spot(mark.line + 1, mark.column + 1) if mark else Spot(0, 0)
    message = f"invalid YAML: {problem}"
    if err.context and err.context_mark and err.problem_mark:
        message += f" ({err.context} at line {err.context_mark.line + 1})"
    hint = _SYNTAX_HINTS.get(problem, "a bracket or quote is not closed" if unclosed else "")
    snippet = render_snippet(doc.shown_lines(), [spot])
    return Problem(doc.path, spot.line, spot.col, "", message, hint, snippet)


class _TooBig(Exception):
    def __init__(self, dpath: DataPath, message: str) -> None:
        super().__init__(message)
        self.dpath = dpath


class _Builder:
    """Turns composed nodes into plain values, filling the document's node table."""

    def __init__(self, doc: MarkedDoc) -> None:
        self.doc = doc
        self.count = 0
        self.open: set[int] = set()  # nodes being built: an alias back to one is a cycle
        self.constructor = yaml.SafeLoader("")

    def value(self, node: Node, dpath: DataPath, key: Spot | None) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(dpath, f"more than {MAX_NODES} values (aliases expanding?)")
        self.doc.nodes[dpath] = _info(node, key)
        if isinstance(node, ScalarNode):
            return self._scalar(node, dpath)
        if id(node) in self.open:
            raise _TooBig(dpath, "an alias refers to a value that contains it")
        self.open.add(id(node))
        try:
            return self._collection(node, dpath)
        finally:
            self.open.discard(id(node))

    def _collection(self, node: Node, dpath: DataPath) -> Any:
        if isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            return [self.value(item, dpath + (i,), None) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, dpath)
        self._report(dpath, f"the tag {node.tag} is not supported", "remove the !tag")
        return None

    def _scalar(self, node: ScalarNode, dpath: DataPath) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            self._report(dpath, f"cannot read this value: {getattr(err, 'problem', err)}")
            return None

    def _mapping(self, node: MappingNode, dpath: DataPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Spot] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, dpath)
            if key is None:
                continue
            spot = _spot(key_node.start_mark)
            if key in seen:
                self._duplicate(dpath + (key,), seen[key], spot)
            seen[key] = spot
            out[key] = self.value(value_node, dpath + (key,), spot)
        return out

    def _key(self, node: Node, dpath: DataPath) -> str | None:
        # Keys are kept as written: ``1:`` is "1" and ``on:`` is "on", not a YAML 1.1 boolean.
        if isinstance(node, ScalarNode) and node.tag != _MERGE_TAG:
            return str(node.value)
        if isinstance(node, ScalarNode):
            self._report_at(
                node, dpath, "merge keys (<<) are not supported", "write the fields out"
            )
        else:
            self._report_at(node, dpath, "a key must be a plain word, not a list or mapping")
        return None

    def _duplicate(self, dpath: DataPath, first: Spot, second: Spot) -> None:
        message = f"duplicate key '{dpath[-1]}' (first at line {first.line})"
        snippet = render_snippet(self.doc.shown_lines(), [first, second])
        hint = "YAML keeps only the last one: remove or rename one"
        self.doc.problems.append(
            Problem(
                self.doc.path, second.line, second.col, field_name(dpath), message, hint, snippet
            )
        )

    def _report(self, dpath: DataPath, message: str, hint: str = "") -> None:
        self.doc.problems.append(self.doc.problem(dpath, message, hint))

    def _report_at(self, node: Node, dpath: DataPath, message: str, hint: str = "") -> None:
        spot = _spot(node.start_mark)
        snippet = render_snippet(self.doc.shown_lines(), [spot])
        self.doc.problems.append(
            Problem(self.doc.path, spot.line, spot.col, field_name(dpath), message, hint, snippet)
        )


def _spot(mark: Any) -> Spot:
    return Spot(mark.line + 1, mark.column + 1)


def _info(node: Node, key: Spot | None) -> NodeInfo:
    raw = str(node.value) if isinstance(node, ScalarNode) else None
    plain = isinstance(node, ScalarNode) and node.style is None
    return NodeInfo(_spot(node.start_mark), _spot(node.end_mark), key, raw, plain)
