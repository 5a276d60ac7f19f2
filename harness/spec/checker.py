"""Checks of a document beyond its schema: report every problem, carry on, report again.

A check reports into ``problems`` and carries on with a stand-in value, so that
one pass finds every problem of the file; a model is only returned when there
are none, so the stand-ins never escape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import Problem
from harness.spec.schema import Finding
from harness.spec.values import BadValue, parse_duration
from harness.spec.yamlmarks import DataPath, MarkedDoc


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (the schema has said why)."""
    return value if isinstance(value, dict) else {}


@dataclass
class Checker:
    """Checks of one document beyond its schema: report, carry on, report again."""

    doc: MarkedDoc
    dirty: set[DataPath]  # data paths the schema rejected: not checked again
    problems: list[Problem] = field(default_factory=list)
    _said: set[str] = field(default_factory=set)

    def report(
        self,
        dpath: DataPath,
        message: str,
        hint: str = "",
        once: bool = False,
        redact: bool = False,
    ) -> None:
        """Record a problem at ``dpath``.

        ``once``: only the first time this message comes up; ``redact``: hide
        the value in the snippet (a literal secret).
        """
        if once and message in self._said:
            return
        self._said.add(message)
        self.problems.append(self.doc.problem(dpath, message, hint, redact))

    def clean(self, dpath: DataPath) -> bool:
        """True when the schema found nothing wrong at or below ``dpath``."""
        n = len(dpath)
        return not any(d[:n] == dpath for d in self.dirty)

    def get(self, fields: Mapping[str, Any], at: DataPath, name: str) -> Any:
        """``fields[name]``, or None when absent or already rejected by the schema."""
        return fields.get(name) if self.clean(at + (name,)) else None

    def all_problems(self, findings: list[Finding]) -> list[Problem]:
        """Reading, schema and own problems: this file's by position, then other files'."""
        found = self.doc.problems + [f.problem for f in findings] + self.problems
        unique = {p.headline(): p for p in found}
        here = self.doc.path
        return sorted(unique.values(), key=lambda p: (p.path != here, str(p.path), p.line, p.col))

    def duration(self, dpath: DataPath, value: Any, allow_zero: bool = False) -> float:
        """Seconds from a duration value; None (absent or rejected) gives 0."""
        if value is None:
            return 0.0
        try:
            return parse_duration(value, allow_zero)
        except BadValue as bad:
            self.report(dpath, bad.message, bad.hint)
            return 0.0

    def within(self, at: DataPath, fields: Mapping[str, Any]) -> float:
        """A step's ``within:`` deadline, in seconds."""
        return self.duration(at + ("within",), self.get(fields, at, "within"))

    def text(self, dpath: DataPath, value: Any) -> str:
        """A string field that YAML may have read as a number: the text as written.

        ``01`` is the number 1 to YAML (and ``010`` is 8): when the text
        written is not how the number reads back, the author must quote it.
        """
        if isinstance(value, str):
            return value
        info = self.doc.nodes.get(dpath)
        raw = info.raw if info and info.raw is not None else str(value)
        if raw != str(value):
            hint = f'write {dpath[-1]}: "{raw}"'
            self.report(dpath, f"{raw} must be quoted: YAML reads it as the number {value}", hint)
        return raw

    def file(self, dpath: DataPath, name: str, what: str = "a file") -> Path:
        """A file named relative to the document's folder, which must exist; made absolute."""
        where = self.doc.path.parent / name
        if not where.is_file():
            hint = f"{what} is named relative to the folder of {self.doc.path.name}"
            self.report(dpath, f"no such file: {os.path.normpath(where)}", hint)
        return where.resolve()
