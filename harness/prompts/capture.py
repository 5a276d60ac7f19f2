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
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.audio.pcm import FloatArray
from harness.audio.prompt import find_prompt
from harness.errors import HarnessError
from harness.prompts.cut import Level, Shape, assess, shape
from harness.prompts.library import LIBRARY, Entry, in_the_way, utc, write_library
from harness.prompts.plan import Plan, make_plan, prompt_steps, valid_id
from harness.prompts.replay import Replay, Settings
from harness.prompts.take import Miss, Take, resolve, together
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
    shape: Shape  # where its sound starts and ends, and its pauses


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
        if self.captured:
            out.append("cuts (length, first to last sound, pauses inside):")
            out += [f"  {c.prompt}: {c.shape.describe()}" for c in self.captured]
        if self.library is not None:
            kept = f"; kept from before: {', '.join(self.kept)}" if self.kept else ""
            out.append(f"wrote {len(self.captured)} prompt(s) to {self.library}{kept}")
        else:
            out.append(f"nothing written to {self.out}")
        return out


def _status(c: Captured) -> str:
    warnings = [*c.level.warnings, *(w for w in (c.take.warning, c.take.slipped) if w)]
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
            todo = _todo(plan, scenario, wanted, done())
            if not todo:
                continue
            say(f"{scenario.path}: calling for {', '.join(todo)}")
            walk = Replay(scenario, req.target, library, req.work / f"{number:02d}-{scenario.path.stem}",
                          req.settings, set(wanted), done, say, kinds=plan.kinds).walk()
            takes += walk.takes
            misses += walk.misses
    known = _known(req, library, wanted)
    found = resolve(takes, wanted, known)
    whole = _unsplit(takes, wanted, found, req.settings)
    outcome.captured = [_captured(p, found.get(p) or whole[p], {**known, **_audio(found)})
                        for p in wanted if p in found or p in whole]
    outcome.missing = _missing(plan, wanted, {**whole, **found}, takes, misses, req.settings)
    if outcome.captured:
        outcome.library, outcome.kept = write_library(
            req.out, [_entry(c, library) for c in outcome.captured], _header(req))
    return outcome


def _known(req: Request, library: PromptLibrary | None, wanted: list[str]) -> dict[str, FloatArray]:
    """Reference audio of the wanted prompts, to find them in takes of prompts back to back: the
    profile's library, and over it the library a capture already wrote in ``--out``."""
    from harness.targets.profile import load_prompt_library

    libraries = [library]
    if (req.out / LIBRARY).exists():
        try:
            libraries.append(load_prompt_library(req.out / LIBRARY))
        except HarnessError:
            pass  # unreadable: replaced whole, as --force asks
    known: dict[str, FloatArray] = {}
    for lib in (x for x in libraries if x is not None):
        known.update({p: a for p, a in ((p, _read(lib.prompts[p].file)) for p in wanted
                                        if p in lib.prompts) if a is not None})
    return known


def _read(path: Path) -> FloatArray | None:
    from harness.audio.wav import read_wav

    try:
        return read_wav(path)[0]
    except (HarnessError, OSError):
        return None


def _audio(found: dict[str, Take]) -> dict[str, FloatArray]:
    return {p: t.audio for p, t in found.items()}


def _unsplit(takes: list[Take], wanted: list[str], found: dict[str, Take],
             settings: Settings) -> dict[str, Take]:
    """Takes of prompts back to back that could not be split, kept whole as their first prompt
    (when it is wanted and has no take of its own), each saying what it holds."""
    whole: dict[str, Take] = {}
    for take in takes:
        if take.followers and take.prompt in wanted and take.prompt not in found | whole:
            seq = take.sequence()
            whole[take.prompt] = Take(take.prompt, take.audio, take.source, warning=(
                f"holds {'+'.join(seq)}: {together(seq, settings.end_silence)}"), slipped=take.slipped)
    return whole


def _captured(prompt: str, take: Take, refs: dict[str, FloatArray]) -> Captured:
    """A captured prompt, measured; a known other prompt found inside it is a warning."""
    inside = [f"{q} at {m.start_s:.2f}-{m.end_s:.2f} s" for q, ref in refs.items()
              if q != prompt and q not in take.sequence() and not take.warning
              and (m := find_prompt(take.audio, ref)) is not None]
    if inside:
        take = replace(take, warning=(f"also holds {', '.join(inside)}: played with no pause "
                                      f"after {prompt}, so the cut holds both"))
    return Captured(prompt, take, assess(take.audio), shape(take.audio))


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


def _todo(plan: Plan, scenario: Scenario, wanted: list[str], done: set[str]) -> list[str]:
    steps = prompt_steps(scenario, plan.kinds)
    return list(dict.fromkeys(s.prompt for _, s in steps if s.prompt in wanted and s.prompt not in done))


def _missing(plan: Plan, wanted: list[str], found: dict[str, Take], takes: list[Take],
             misses: list[Miss], settings: Settings) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for prompt in plan.wanted:
        if prompt in found:
            continue
        reasons = [m.reason for m in misses if m.prompt == prompt]
        reasons += [_together(t, prompt, settings) for t in takes if prompt in t.sequence()
                    and t.followers]
        if not valid_id(prompt):
            reasons = [f"{prompt!r} cannot name a prompt file: ids use only a-z, 0-9 and _"]
        missing[prompt] = list(dict.fromkeys(reasons)) or ["no scenario walk reached it"]
    for prompt in plan.unknown:
        missing[prompt] = ["no scenario given expects it (--only names a prompt no expect_prompt has)"]
    return missing


def _together(take: Take, prompt: str, settings: Settings) -> str:
    src = take.source if prompt == take.prompt else dict(take.followers)[prompt]
    return f"at {src.where()} on {src.route()}: {together(take.sequence(), settings.end_silence)}"


def _entry(c: Captured, library: PromptLibrary | None) -> Entry:
    ref = library.prompts.get(c.prompt) if library else None
    src = c.take.source
    comment = (f"heard on {src.route()}, Call-ID {src.sip_call_id or '?'}, {utc(src.wall)}, "
               f"from {src.where()}; {c.level.duration_s:.2f}s at {c.level.rms_dbfs:.1f} dBFS; "
               f"cut {c.shape.describe()}"
               + "".join(f"; {n}" for n in (c.take.note, c.take.warning, c.take.slipped, *c.level.warnings)
                         if n))
    return Entry(c.prompt, c.take.audio, ref.text if ref else "", ref.lang if ref else "", comment)


def _header(req: Request) -> list[str]:
    t = req.target
    first = (f"The prompts of target {t.name} as heard through its IVR, recorded by "
             f"'ccharness prompts capture' on {utc(time.time())}.")
    second = (f"Target profile {t.path}: {t.host}:{t.port}/{t.transport}. Each file is one prompt "
              "cut from a call (8 kHz mono 16-bit), trimmed of the silence around it.")
    return [first, second]
