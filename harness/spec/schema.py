"""Check a ``MarkedDoc`` against a JSON-Schema (draft 2020-12) data file.

The schema files are YAML with a ``description`` on every property.  Three
annotations of our own (ignored by JSON-Schema) shape the messages:

* ``x-unknown``: what to call an unknown key here (default ``field``; steps
  say ``step type``);
* ``x-hint``: a hint for a value of the wrong type or a missing field,
  usually an example; ``x-hints``: a hint per keyword, replacing it;
* ``x-messages``: a message per keyword, replacing the generic one.

Each jsonschema error becomes a ``Problem`` located with the document's
marks.  The data paths of the problems are returned too, so that the
semantic checks can skip values the schema already rejected.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import Problem
from harness.spec.yamlmarks import DataPath, MarkedDoc

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing",
}


@dataclass(frozen=True)
class Finding:
    """One schema problem and the data path of the value it condemns."""

    dpath: DataPath
    problem: Problem


@cache
def load_schema(path: Path) -> Mapping[str, Any]:
    """Read a schema data file (cached: schema files are part of the package)."""
    with path.open(encoding="utf-8") as f:
        schema: dict[str, Any] = yaml.safe_load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate(doc: MarkedDoc, schema: Mapping[str, Any]) -> list[Finding]:
    """Every way ``doc.data`` breaks ``schema``, one finding per offending value."""
    validator = jsonschema.Draft202012Validator(schema)
    findings: list[Finding] = []
    for error in validator.iter_errors(doc.data):
        findings.extend(_translate(doc, error))
    return findings


def describe(value: Any) -> str:
    """A short, YAML-flavoured description of a value for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def closest(word: str, known: list[str]) -> str:
    """``did you mean 'x'? `` when one of ``known`` is close to ``word``, else ``""``."""
    match = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'? " if match else ""


def _translate(doc: MarkedDoc, error: jsonschema.ValidationError) -> Iterator[Finding]:
    dpath: DataPath = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        dpath = dpath + (str(error.instance),)  # the offending key itself
    handler = _HANDLERS.get(str(error.validator), _generic)
    for where, message, hint in handler(error, dpath):
        override = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
        if str(error.validator) in override:
            message = override[str(error.validator)] + _found(error.instance)
        yield Finding(where, doc.problem(where, message, hint))


Triple = tuple[DataPath, str, str]


def _found(instance: Any) -> str:
    if isinstance(instance, dict):
        return ": found " + ", ".join(f"'{k}'" for k in instance) if instance else ""
    return f": got {describe(instance)}"


def _hint(error: jsonschema.ValidationError) -> str:
    if not isinstance(error.schema, dict):
        return ""
    by_keyword = error.schema.get("x-hints", {})
    return str(by_keyword.get(str(error.validator), error.schema.get("x-hint", "")))


def _type(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    wanted = (
        error.validator_value
        if isinstance(error.validator_value, list)
        else [error.validator_value]
    )
    names = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in wanted)
    return [(dpath, f"expected {names}, got {describe(error.instance)}", _hint(error))]


def _enum(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    options = list(error.validator_value)
    hint = closest(str(error.instance), [str(o) for o in options]).strip()
    return [(dpath, f"{describe(error.instance)} is not one of {options!r}", hint)]


def _required(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    missing = [n for n in error.validator_value if n not in error.instance]
    return [(dpath, f"missing required field '{n}'", _hint(error)) for n in missing]


def _additional(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    known = list(error.schema.get("properties", {}))
    noun = str(error.schema.get("x-unknown", "field"))
    out: list[Triple] = []
    for key in error.instance:
        if key not in known:
            hint = f"{closest(str(key), known)}known {noun}s: {', '.join(known)}"
            out.append((dpath + (key,), f"unknown {noun} '{key}'", hint))
    return out


def _bound(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
    }
    phrase = words[str(error.validator)]
    return [(dpath, f"{describe(error.instance)}: must be {phrase} {error.validator_value}", "")]


def _size(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    limit = error.validator_value
    if str(error.validator).startswith("min"):
        message = "must not be empty" if limit == 1 else f"needs at least {limit} items"
    else:
        message = f"takes at most {limit} items, got {len(error.instance)}"
    return [(dpath, message, _hint(error))]


def _pattern(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    return [(dpath, f"{describe(error.instance)} does not match {error.validator_value}", "")]


def _generic(error: jsonschema.ValidationError, dpath: DataPath) -> list[Triple]:
    return [(dpath, error.message, _hint(error))]


_HANDLERS: dict[str, Callable[[jsonschema.ValidationError, DataPath], list[Triple]]] = {
    "type": _type,
    "enum": _enum,
    "required": _required,
    "additionalProperties": _additional,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "minItems": _size,
    "maxItems": _size,
    "minProperties": _size,
    "maxProperties": _size,
    "minLength": _size,
    "pattern": _pattern,
}
