"""What the scenario loader knows while it checks references and builds the model.

Checks report into ``problems`` and carry on with a stand-in value, so that
one pass finds every problem of the file; a scenario is only returned when
there are none, so the stand-ins never escape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.scenario.model import Audio, Tone
from harness.spec.checker import Checker
from harness.spec.schema import closest
from harness.spec.values import BadValue, parse_digits
from harness.spec.yamlmarks import DataPath, render_snippet
from harness.targets.capability import Capability
from harness.targets.model import PromptLibrary, Target

NO_LIBRARY = "set prompts: in the scenario or the target profile"
PLAY_HINT = "e.g. {prompt: greeting}, {file: hello.wav} or {tone: {freq: 1000, duration: 1s}}"


@dataclass
class LoadContext(Checker):
    """A scenario's checks: the target, the prompt library and the names declared so far."""

    target: Target | None = None
    library: PromptLibrary | None = None
    library_broken: bool = False  # its own problems are reported; don't add "unknown prompt"
    callers: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)  # call ids, in the order placed
    calls_seen: int = 0  # call steps so far, for the default ids c1, c2, ...
    builders: dict[str, Callable[..., Any]] = field(default_factory=dict)  # step type -> builder
    capabilities: frozenset[Capability] | None = None  # the target's; None: not checked
    unchecked: list[tuple[DataPath, str]] = field(default_factory=list)  # prompts with no library

    def digits(self, dpath: DataPath, value: Any) -> str:
        """DTMF digits as a string, checked."""
        if value is None:
            return ""
        text = self.text(dpath, value)
        try:
            return parse_digits(text)
        except BadValue as bad:
            self.report(dpath, bad.message, bad.hint)
            return text

    def new_call(self, at: DataPath, fields: Mapping[str, Any]) -> str:
        """The id of a call a step places (``call``, ``dial_out``, ``originate``): its ``id:``,
        else c1, c2, ... in the order calls are placed; an id used twice is reported."""
        self.calls_seen += 1
        given = self.get(fields, at, "id")
        call_id = str(given) if given is not None else f"c{self.calls_seen}"
        if call_id in self.placed:
            hint = "give each call its own id" if given is not None else "set id: on this call"
            self.report(at + ("id",), f"call id '{call_id}' is already used by an earlier call", hint)
        return call_id

    def call(self, at: DataPath, fields: Mapping[str, Any]) -> str:
        """The call a step acts on: its ``call:`` field, else the most recent call placed."""
        given = self.get(fields, at, "call")
        if given is None:
            if "call" in fields:
                return ""
            if self.placed:
                return self.placed[-1]
            self.report(at, "no call has been placed yet", "put a call step before this one")
            return ""
        if given not in self.placed:
            hint = "put a call step before this one"
            if self.placed:
                placed = list(dict.fromkeys(self.placed))
                hint = f"{closest(given, placed)}calls placed so far: {', '.join(placed)}"
            self.report(at + ("call",), f"call '{given}' has not been placed yet", hint)
        return str(given)

    def agent(self, dpath: DataPath, name: str) -> str:
        """A reference to a declared agent."""
        if name not in self.agents:
            hint = "declare it under agents:"
            if self.agents:
                hint = f"{closest(name, self.agents)}agents declared: {', '.join(self.agents)}"
            self.report(dpath, f"unknown agent '{name}'", hint)
        return name

    def prompt(self, dpath: DataPath, prompt_id: str) -> str:
        """A reference to a prompt in the library."""
        if self.library is None:
            if not self.library_broken:
                self.unchecked.append((dpath, prompt_id))
            return prompt_id
        known = sorted(self.library.prompts)
        if prompt_id not in self.library.prompts:
            hint = f"{closest(prompt_id, known)}prompts come from {self.library.path}"
            self.report(dpath, f"'{prompt_id}' is not one of {known!r}", hint)
        return prompt_id

    def report_unchecked(self) -> None:
        """One problem for every prompt named where no library is known, each with its line."""
        if not self.unchecked:
            return
        named = dict.fromkeys((pid, self.doc.spot(d).line) for d, pid in self.unchecked)  # repeats once
        each = ", ".join(f"'{pid}' (line {line})" for pid, line in named)
        first = self.doc.problem(self.unchecked[0][0], f"no prompt library to check these prompts "
                                 f"against: {each}", NO_LIBRARY)
        spots = [self.doc.spot(d) for d, _ in self.unchecked]
        self.problems.append(replace(first, snippet=render_snippet(self.doc.shown_lines(), spots)))

    def account(self, dpath: DataPath, account: str, default: str = "") -> None:
        """Check that the target profile (when known) has ``account``.

        ``default`` says how an account nobody wrote came about.
        """
        if self.target is None or account in self.target.accounts:
            return
        known = ", ".join(self.target.accounts) or "none"
        hint = (
            f"{closest(account, list(self.target.accounts))}accounts in {self.target.path}: {known}"
        )
        if default:
            hint = f"{default}: set account: to one of {known}"
        self.report(dpath, f"no account '{account}' in target '{self.target.name}'", hint)

    def audio(self, at: DataPath, fields: Mapping[str, Any]) -> Audio:
        """Audio to play: exactly one of ``prompt``, ``file``, ``tone``."""
        kinds = [k for k in ("prompt", "file", "tone") if k in fields]
        if len(kinds) != 1:
            found = f": found {', '.join(kinds)}" if kinds else ""
            self.report(at, f"give exactly one of prompt, file or tone{found}", PLAY_HINT)
        prompt, file, tone = (self.get(fields, at, k) for k in ("prompt", "file", "tone"))
        return Audio(
            prompt=self.prompt(at + ("prompt",), prompt) if prompt is not None else None,
            file=self.file(at + ("file",), file) if file is not None else None,
            tone=self.tone(at + ("tone",), tone) if tone is not None else None,
            loop=bool(self.get(fields, at, "loop")),
        )

    def tone(self, at: DataPath, fields: Mapping[str, Any]) -> Tone:
        """A tone spec: one frequency or a list of one or two."""
        freq = self.get(fields, at, "freq")
        freqs = tuple(
            float(f) for f in (freq if isinstance(freq, list) else [freq] if freq else [])
        )
        level = self.get(fields, at, "level_dbfs")
        duration = self.duration(at + ("duration",), self.get(fields, at, "duration"))
        return Tone(freqs, duration, -12.0 if level is None else float(level))
