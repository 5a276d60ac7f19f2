"""Load a ``*.scenario.yaml`` file into a ``Scenario``, or report every problem in it.

Three passes, all of whose problems are reported together: the YAML is read
keeping marks (``yamlmarks``), checked against ``schema.yaml`` (``schema``),
then references and values are checked while the frozen model is built
(``context`` and ``steps``).
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import jsonschema

from harness.errors import Problem, ProfileError, ScenarioError
from harness.scenario.context import LoadContext
from harness.scenario.model import AgentSpec, Behaviour, CallerSpec, Scenario, Step
from harness.scenario.repeat import expand_repeats
from harness.spec.checker import mapping
from harness.spec.schema import load_schema, validate
from harness.spec.yamlmarks import DataPath, Mark, MarkedDoc, NodeInfo, read_marked
from harness.targets.capability import Capability, lacking
from harness.targets.model import PromptLibrary, Target
from harness.targets.profile import load_prompt_library

SCHEMA = Path(__file__).with_name("schema.yaml")
SUFFIX = ".scenario.yaml"
DEFAULT_DEADLINE = 120.0


class Kind(Protocol):
    """What the loader needs of a step kind (``harness.steps.kind.StepKind`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def body_schema(self) -> dict[str, Any]: ...
    @property
    def build(self) -> Callable[[LoadContext, DataPath, Any, Mark], Step]: ...
    @property
    def instead(self) -> str: ...
    def needs_of(self, step: Any) -> frozenset[Capability]: ...


def load_scenario(
    path: Path, prompts: PromptLibrary | None, target: Target | None = None,
    kinds: Sequence[Kind] = (), capabilities: frozenset[Capability] | None = None,
) -> Scenario:
    """Load and check one scenario file.

    ``prompts`` is the prompt library to check prompt ids against; a
    ``prompts:`` entry in the scenario overrides it, and without either the
    target's library (if any) is used.  With a ``target``, accounts and DIDs
    are checked against it and ``send_dtmf`` defaults to its ``dtmf_method``.
    ``kinds`` are the step kinds of ``harness.steps`` (``harness.steps.registry``
    passes them: this layer does not import the steps).  ``capabilities`` are
    the target's (``harness.targets.registry.capabilities``): a step needing one
    it lacks is a problem, with the fix.  None: not checked.

    Raises ``ScenarioError`` carrying every problem found in the file.
    """
    doc = read_marked(path, empty_hint="a scenario needs at least name: and steps:")
    if not doc.readable:
        raise ScenarioError(doc.problems)
    expand_repeats(doc)
    _expand_step_shorthand(doc)
    findings = validate(doc, scenario_schema(tuple(kinds)))
    ctx = LoadContext(doc, {f.dpath for f in findings}, target=target)
    ctx.builders = {k.name: k.build for k in kinds}
    ctx.capabilities = capabilities
    scenario = _build(ctx, prompts, {k.name: k for k in kinds}) if isinstance(doc.data, dict) else None
    ctx.report_unchecked()
    problems = ctx.all_problems(findings)
    if problems or scenario is None:
        raise ScenarioError(problems)
    return scenario


@functools.cache
def scenario_schema(kinds: tuple[Kind, ...]) -> Mapping[str, Any]:
    """The scenario schema: ``schema.yaml`` with each kind's body schema and its entry in the step list.

    The step types are listed in the kinds' order (after those still in the file),
    ``repeat`` last; the list is what an unknown step type's hint names.
    """
    schema = copy.deepcopy(dict(load_schema(SCHEMA)))
    defs = schema["$defs"]
    listed = defs["step"]["properties"]
    repeat = listed.pop("repeat")
    for kind in kinds:
        defs[kind.name] = kind.body_schema
        listed[kind.name] = {"$ref": f"#/$defs/{kind.name}", "description": kind.description}
    listed["repeat"] = repeat
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def discover(paths: Iterable[Path]) -> list[Path]:
    """The scenario files named by ``paths``: files as given, folders searched for ``**/*.scenario.yaml``.

    Hidden folders are skipped.  Raises ``ScenarioError`` for a path that does not exist.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob(f"*{SUFFIX}")):
                if not any(part.startswith(".") for part in file.relative_to(path).parts):
                    found[file] = None
        elif path.is_file():
            found[path] = None
        else:
            raise ScenarioError([Problem(path, 0, 0, "", "no such file or folder")])
    return list(found)


def _expand_step_shorthand(doc: MarkedDoc) -> None:
    """``- hangup`` means ``- hangup: null``; rewrite it so the schema sees one shape."""
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    if not isinstance(steps, list):
        return
    for i, item in enumerate(steps):
        if isinstance(item, str):
            steps[i] = {item: None}
            where = doc.nodes[("steps", i)]
            doc.nodes[("steps", i, item)] = NodeInfo(where.value, where.end, where.value)


def _build(ctx: LoadContext, prompts: PromptLibrary | None, kinds: Mapping[str, Kind]) -> Scenario:
    data: dict[str, Any] = ctx.doc.data
    own_library = _own_library(ctx, ctx.get(data, (), "prompts"))
    if own_library is None and not ctx.library_broken:
        ctx.library = prompts or _target_library(ctx)
    else:
        ctx.library = own_library
    callers = _callers(ctx, data.get("callers"))
    agents = _agents(ctx, data.get("agents"))
    deadline = ctx.get(data, (), "deadline")
    return Scenario(
        path=ctx.doc.path,
        name=str(data.get("name", "")),
        description=str(ctx.get(data, (), "description") or ""),
        deadline=DEFAULT_DEADLINE if deadline is None else ctx.duration(("deadline",), deadline),
        callers=callers,
        agents=agents,
        steps=_steps(ctx, steps if isinstance(steps := data.get("steps"), list) else [], kinds),
        tags=tuple(ctx.get(data, (), "tags") or ()),
        licence_item=ctx.get(data, (), "licence_item"),
        prompts=own_library.path if own_library else None,
        mark=ctx.doc.mark(()),
    )


def _own_library(ctx: LoadContext, name: str | None) -> PromptLibrary | None:
    """The scenario's own ``prompts:`` library, relative to the scenario file."""
    if name is None:
        return None
    path = Path(os.path.normpath(ctx.doc.path.parent / name))
    if not path.is_file():
        ctx.report(
            ("prompts",), f"no such file: {path}", "prompts: is relative to the scenario file"
        )
        ctx.library_broken = True
        return None
    return _read_library(ctx, path)


def _target_library(ctx: LoadContext) -> PromptLibrary | None:
    if ctx.target is None or ctx.target.prompts is None:
        return None
    return _read_library(ctx, ctx.target.prompts)


def _read_library(ctx: LoadContext, path: Path) -> PromptLibrary | None:
    try:
        return load_prompt_library(path)
    except ProfileError as err:
        ctx.problems.extend(err.problems)
        ctx.library_broken = True
        return None


def _callers(ctx: LoadContext, spec: Any) -> tuple[CallerSpec, ...]:
    if not isinstance(spec, dict):
        ctx.callers = ["caller"]
        ctx.account(("callers",), "caller", "the default caller's account is 'caller'")
        return (CallerSpec("caller", "caller"),)
    ctx.callers = list(spec)
    out: list[CallerSpec] = []
    for name, fields in spec.items():
        at = ("callers", name)
        account = _account(ctx, at, fields, name)
        out.append(CallerSpec(name, account, ctx.doc.mark(at)))
    return tuple(out)


def _account(ctx: LoadContext, at: tuple[str, str], fields: Any, name: str) -> str:
    """A party's account: its ``account:`` field, else its name; checked against the target."""
    account = ctx.get(fields, at, "account") if isinstance(fields, dict) else None
    if account is not None:
        ctx.account(at + ("account",), account)
    elif ctx.clean(at + ("account",)) and at not in ctx.dirty:  # a rejected name: said already
        ctx.account(at, name, f"the account defaults to the name, '{name}'")
    return str(account or name)


def _agents(ctx: LoadContext, spec: Any) -> tuple[AgentSpec, ...]:
    if not isinstance(spec, dict):
        return ()
    ctx.agents = list(spec)  # all names first: steps and agent:NAME may refer to any
    return tuple(_agent(ctx, ("agents", name), name, fields) for name, fields in spec.items())


def _agent(ctx: LoadContext, at: tuple[str, str], name: str, spec: Any) -> AgentSpec:
    fields = mapping(spec)
    behaviour = ctx.get(fields, at, "behaviour") or "answer"
    code = ctx.get(fields, at, "code")
    if code is not None and behaviour != "reject":
        ctx.report(
            at + ("code",),
            f"only used with behaviour: reject, not {behaviour}",
            "remove code:, or set behaviour: reject",
        )
    play = ctx.get(fields, at, "play")
    return AgentSpec(
        name=name,
        account=_account(ctx, at, spec, name),
        behaviour=cast(Behaviour, behaviour),
        answer_after=ctx.duration(
            at + ("answer_after",), ctx.get(fields, at, "answer_after"), True
        ),
        reject_code=486 if code is None else code,
        play=ctx.audio(at + ("play",), play) if play is not None else None,
        mark=ctx.doc.mark(at),
    )


def _steps(ctx: LoadContext, items: list[Any], kinds: Mapping[str, Kind]) -> tuple[Step, ...]:
    built: list[Step] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            continue  # the schema has said why
        kind, body = next(iter(item.items()))
        at = ("steps", i, kind)
        if kind not in ctx.builders or at in ctx.dirty:
            if kind == "call":
                place_unreadable_call(ctx)
            continue
        built.append(ctx.builders[kind](ctx, at, body, ctx.doc.mark(("steps", i))))
        _capable(ctx, at, kinds[kind], built[-1])
    return tuple(built)


def _capable(ctx: LoadContext, at: DataPath, kind: Kind, step: Step) -> None:
    """A step the target's adapter cannot perform is refused now, not as an ERROR mid-run."""
    if ctx.capabilities is None or ctx.target is None:
        return
    missing = kind.needs_of(step) - ctx.capabilities
    if missing:
        ctx.report(at, *lacking(ctx.target.name, str(ctx.target.path), missing, kind.instead))


def place_unreadable_call(ctx: LoadContext) -> None:
    """A call step the schema rejected still places a call, so later steps don't cascade."""
    ctx.calls_seen += 1
    ctx.placed.append(f"c{ctx.calls_seen}")
