"""``ccharness prompts capture``: record the platform's prompts as heard, for later matching.

The scenarios say how to reach each prompt (the number dialled, the keys
pressed before it).  Each scenario that expects a prompt not captured yet is
walked once on a real call (:mod:`harness.prompts.replay`); every prompt is
taken from the first place it is heard alone, or cut out of prompts played
back to back once its neighbours are known (:mod:`harness.prompts.take`).
The results are trimmed, level-checked and written as a prompt library
(:mod:`harness.prompts.library`).  Bad input is refused before any call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.prompts.cut import Level, assess
from harness.prompts.library import Entry, in_the_way, utc, write_library
from harness.prompts.plan import Plan, make_plan, prompt_steps, valid_id
from harness.prompts.replay import Replay, Settings
from harness.prompts.take import Miss, Take, resolve
from harness.scenario.model import Scenario
from harness.targets.model import PromptLibrary, Target


@dataclass(frozen=True)
class Request:
    """What to capture, from where, into where."""

    target: Target
    paths: tuple[Path, ...]  # scenario files and folders
    out: Path
    work: Path  # phone logs and whole-call captures
    only: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)
    force: bool = False


@dataclass(frozen=True)
class Captured:
    prompt: str
    take: Take
    level: Level


@dataclass
class Outcome:
    """What was captured, what was not and why, and where it was written."""

    out: Path
    captured: list[Captured] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # prompt -> reasons
    library: Path | None = None
    kept: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rows = [("prompt", "heard on", "duration", "level", "status")]
        rows += [(c.prompt, c.take.source.route(), f"{c.level.duration_s:.2f}s",
                  f"{c.level.rms_dbfs:.1f} dBFS", _status(c)) for c in self.captured]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        out = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
        if self.missing:
            out.append(f"not captured ({len(self.missing)}):")
            for prompt, reasons in self.missing.items():
                out += [f"  {prompt}: {reasons[0]}", *(f"    also: {r}" for r in reasons[1:])]
        if self.library is not None:
            kept = f"; kept from before: {', '.join(self.kept)}" if self.kept else ""
            out.append(f"wrote {len(self.captured)} prompt(s) to {self.library}{kept}")
        else:
            out.append(f"nothing written to {self.out}")
        return out


def _status(c: Captured) -> str:
    warnings = [*c.level.warnings, *([c.take.warning] if c.take.warning else [])]
    note = f" ({c.take.note})" if c.take.note else ""
    return f"WARN {'; '.join(warnings)}{note}" if warnings else f"ok{note}"


def capture(req: Request, say: Callable[[str], None] = lambda _: None) -> Outcome:
    """Capture the prompts; raises ``HarnessError`` (``SpecError``) for bad input, before any call."""
    from harness.runner.platform import managed_platform
    from harness.targets.profile import load_prompt_library

    library = load_prompt_library(req.target.prompts) if req.target.prompts else None
    plan = make_plan(list(req.paths), req.target, library, req.only)
    _refuse(req, plan)
    outcome = Outcome(req.out)
    wanted = [p for p in plan.wanted if valid_id(p)]
    takes: list[Take] = []
    misses: list[Miss] = []

    def done() -> set[str]:
        return set(resolve(takes, wanted))

    with ExitStack() as stack:
        stack.enter_context(managed_platform(req.target, library, req.work / "managed"))
        for number, scenario in enumerate(plan.scenarios, start=1):
            todo = _todo(scenario, wanted, done())
            if not todo:
                continue
            say(f"{scenario.path}: calling for {', '.join(todo)}")
            walk = Replay(scenario, req.target, library, req.work / f"{number:02d}-{scenario.path.stem}",
                          req.settings, set(wanted), done, say).walk()
            takes += walk.takes
            misses += walk.misses
    found = resolve(takes, wanted)
    outcome.captured = [Captured(p, found[p], assess(found[p].audio)) for p in wanted if p in found]
    outcome.missing = _missing(plan, wanted, found, takes, misses, req.settings)
    if outcome.captured:
        outcome.library, outcome.kept = write_library(
            req.out, [_entry(c, library) for c in outcome.captured], _header(req))
    return outcome


def _refuse(req: Request, plan: Plan) -> None:
    if not plan.wanted:
        asked = f" among --only {', '.join(req.only)}" if req.only else ""
        raise HarnessError(f"no prompt to capture{asked}: no scenario under "
                           f"{', '.join(map(str, req.paths))} expects one (expect_prompt)")
    existing = [] if req.force else in_the_way(req.out, plan.wanted)
    if existing:
        raise HarnessError(f"{req.out} already holds {', '.join(p.name for p in existing)}: "
                           "give --force to replace them (the entries of prompts.yaml not "
                           "captured again are kept), or choose another --out")


def _todo(scenario: Scenario, wanted: list[str], done: set[str]) -> list[str]:
    steps = prompt_steps(scenario)
    return list(dict.fromkeys(s.prompt for _, s in steps if s.prompt in wanted and s.prompt not in done))


def _missing(plan: Plan, wanted: list[str], found: dict[str, Take], takes: list[Take],
             misses: list[Miss], settings: Settings) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for prompt in plan.wanted:
        if prompt in found:
            continue
        reasons = [m.reason for m in misses if m.prompt == prompt]
        reasons += [_together(t, prompt, found, settings) for t in takes if prompt in t.sequence()
                    and t.followers]
        if not valid_id(prompt):
            reasons = [f"{prompt!r} cannot name a prompt file: ids use only a-z, 0-9 and _"]
        missing[prompt] = list(dict.fromkeys(reasons)) or ["no scenario walk reached it"]
    for prompt in plan.unknown:
        missing[prompt] = ["no scenario given expects it (--only names a prompt no expect_prompt has)"]
    return missing


def _together(take: Take, prompt: str, found: dict[str, Take], settings: Settings) -> str:
    seq = take.sequence()
    src = take.source if prompt == take.prompt else dict(take.followers)[prompt]
    alone = [p for p in seq if p != prompt and p not in found]
    unknown = (f"{', '.join(alone)} {'is' if len(alone) == 1 else 'are'} not heard alone in any "
               "scenario given") if alone else "it could not be found between its neighbours"
    return (f"at {src.where()} on {src.route()}, {' + '.join(seq)} played with no pause of "
            f"{settings.end_silence:g}s between them, and {unknown}, so they cannot be told apart "
            "(lower --end-silence below the pause the platform leaves between them, or add a "
            "scenario where one of them is heard alone, e.g. after a key)")


def _entry(c: Captured, library: PromptLibrary | None) -> Entry:
    ref = library.prompts.get(c.prompt) if library else None
    src = c.take.source
    comment = (f"heard on {src.route()}, Call-ID {src.sip_call_id or '?'}, {utc(src.wall)}, "
               f"from {src.where()}; {c.level.duration_s:.2f}s at {c.level.rms_dbfs:.1f} dBFS"
               + "".join(f"; {n}" for n in (c.take.note, c.take.warning, *c.level.warnings) if n))
    return Entry(c.prompt, c.take.audio, ref.text if ref else "", ref.lang if ref else "", comment)


def _header(req: Request) -> list[str]:
    t = req.target
    first = (f"The prompts of target {t.name} as heard through its IVR, recorded by "
             f"'ccharness prompts capture' on {utc(time.time())}.")
    second = (f"Target profile {t.path}: {t.host}:{t.port}/{t.transport}. Each file is one prompt "
              "cut from a call (8 kHz mono 16-bit), trimmed of the silence around it.")
    return [first, second]
