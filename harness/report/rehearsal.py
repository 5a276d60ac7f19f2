"""The on-site inspection (现场核查) rehearsal: a scenario run paced for people watching.

A ``Rehearsal`` is a step observer. Before each step it announces what is about
to happen, in Simplified Chinese and English (``harness.report.narration``),
and waits for the presenter's Enter or for the pace; after it, it shows the
step's outcome and the state of every call leg -- which agent is ringing,
which answered. After a recording is retrieved (录音调取) it plays it back
when the machine has audio output. The run itself is an ordinary one: the
same steps, verdicts and evidence.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.errors import ExpectationFailed, HarnessError
from harness.report.narration import SUPPORTING_ITEMS, SUPPORTING_WORDS, licence_item, say, spec_of
from harness.runner.run import ScenarioRun, StepObserver
from harness.scenario.model import Step
from harness.sip.timeline import CallTimeline

SHOWN_EVENTS = 6  # the newest timeline events shown per call leg

CALL_STATES: dict[str, tuple[str, str, str]] = {  # pjsua2 state -> (Chinese, English, style)
    "NULL": ("未开始", "idle", "dim"),
    "CALLING": ("呼叫中", "calling", "cyan"),
    "INCOMING": ("振铃", "ringing", "yellow"),
    "EARLY": ("振铃", "ringing", "yellow"),
    "CONNECTING": ("接通中", "connecting", "cyan"),
    "CONFIRMED": ("通话中", "answered", "green"),
    "DISCONNECTED": ("已挂机", "ended", "dim"),
}


def intro(pace: float | None) -> list[str]:
    """What the audience is told before the first step."""
    advance = ("每一步开始前按回车键 · press Enter before each step" if pace is None
               else f"每 {pace:g} 秒自动进入下一步 · the steps advance every {pace:g} s")
    return [
        "现场核查演练 · On-site inspection rehearsal",
        ("演示 IVR语音导航、ACD智能分配、录音调取 · shows IVR navigation, ACD distribution "
         "and recording retrieval"),
        ("每一步执行前先宣读（中文 / English）；执行后显示结果与各通话状态（哪个坐席振铃、接听）；"
         "调取的录音会播放 · each step is announced before it runs; after it, its outcome and "
         "every call leg's state (which agent rings, which answers); retrieved recordings are "
         "played back"),
        advance,
        ("Ctrl-C 结束演练（挂断所有通话，已写的证据保留）· Ctrl-C stops the run (calls are hung "
         "up, the evidence written so far is kept)"),
    ]


class Rehearsal:
    """Announces, paces and shows the steps of every scenario run it watches."""

    def __init__(self, pace: float | None, console: Console | None = None,
                 keys: IO[str] | None = None) -> None:
        self.pace = pace  # None: wait for Enter before each step
        self.console = console or Console(highlight=False)
        self._keys = keys

    def watch(self, run: ScenarioRun) -> StepObserver:
        """The observer to give ``run`` (``run.observe(rehearsal.watch(run))``)."""
        def observer(index: int, kind: str, step: Step) -> AbstractContextManager[None]:
            return self._around(run, index, kind, step)
        return observer

    def close(self) -> None:
        if self._keys is not None and self._keys is not sys.stdin:
            self._keys.close()
        self._keys = None

    # -- around one step -----------------------------------------------------------------
    @contextmanager
    def _around(self, run: ScenarioRun, index: int, kind: str, step: Step) -> Iterator[None]:
        if index == 0:
            self._title(run)
        self._announce(run, index, kind, step)
        try:
            self._advance()
        except KeyboardInterrupt:
            self.console.print("[bold]■ 演练中止 stopped (Ctrl-C):[/] hanging up and tearing down")
            raise
        began = time.monotonic()
        try:
            yield
        except BaseException as exc:
            self.console.print(outcome(exc))
            self.show_calls(run)
            raise
        self.console.print(f"[green]✓ 通过 passed[/] ({time.monotonic() - began:.1f} s)")
        if kind == "expect_recording":
            self._play_back(run, step)
        self.show_calls(run)

    def _title(self, run: ScenarioRun) -> None:
        sc = run.scenario
        zh, en = licence_item(sc.licence_item)
        self.console.print()
        self.console.rule(f"[bold]场景 scenario: {escape(sc.name)}")
        self.console.print(f"许可证项目 licence item: [bold]{zh}[/] · {en}")
        if sc.licence_item in SUPPORTING_ITEMS:
            self.console.print(f"[dim]（{SUPPORTING_WORDS[0]} · {SUPPORTING_WORDS[1]}）[/]")
        if sc.description:
            self.console.print(f"[dim]{escape(sc.description.strip())}[/]")

    def _announce(self, run: ScenarioRun, index: int, kind: str, step: Step) -> None:
        zh, en = say(kind, spec_of(step))
        mark = getattr(step, "mark", None)
        where = f", line {mark.line}" if mark else ""
        self.console.print()
        self.console.print(f"[bold]步骤 step {index + 1}/{len(run.scenario.steps)}[/] "
                           f"[dim]({kind}{where})[/]")
        self.console.print(f"  [bold]{escape(zh)}[/]")
        self.console.print(f"  {escape(en)}")

    def _advance(self) -> None:
        if self.pace is not None:
            time.sleep(self.pace)  # in pace mode the pace is the deadline
            return
        self.console.print("  [dim]按回车键执行这一步 · press Enter to run this step[/]", end="")
        # No deadline, by design: a person is presenting and decides when to go on. The
        # calls stay up meanwhile; the scenario's deadline does not run (ScenarioRun).
        line = self._reader().readline()
        if not line:  # end of input: nobody can press Enter, so go on unpaced
            self.console.print("\n  [dim](no input: continuing without pauses)[/]")
            self.pace = 0.0

    def _reader(self) -> IO[str]:
        if self._keys is None:
            try:
                self._keys = open("/dev/tty", encoding="utf-8", errors="replace")
            except OSError:  # no controlling terminal (CI, a pipe): read the standard input
                self._keys = sys.stdin
        return self._keys

    # -- what is shown after a step ------------------------------------------------------------
    def show_calls(self, run: ScenarioRun) -> None:
        """The live state of the scenario's call legs, one row each."""
        if run.board.timelines:
            self.console.print(call_table(run))

    def _play_back(self, run: ScenarioRun, step: Step) -> None:
        from harness.audio.playback import play_aloud

        state = run.calls.get(str(getattr(step, "call", "")))
        found: Any = state.recording if state else None
        if found is None:
            return
        self.console.print(f"录音调取 recording retrieved: [bold]{escape(found.info.name)}[/] "
                           f"({found.duration_s:.1f} s, found by {found.found_by})")
        self.console.print(f"  {escape(str(found.path))}")
        self.console.print("  [dim]正在播放 playing back …[/]")
        result = play_aloud(found.path, found.duration_s)
        if result.played:
            self.console.print(f"  已播放 played through {result.player}")
        else:
            self.console.print(f"  未播放 not played: {escape(result.reason)}; "
                               f"the file is {escape(str(found.path))} "
                               f"({found.duration_s:.1f} s)")


def outcome(exc: BaseException) -> str:
    """The line said when a step did not pass, in the reviewer's terms."""
    if isinstance(exc, ExpectationFailed):
        return f"[bold red]✗ 不符合 NOT CONFORMANT:[/] {escape(f'{exc.step}: {exc.detail}')}"
    if isinstance(exc, AssertionError):
        return f"[bold red]✗ 不符合 NOT CONFORMANT:[/] {escape(str(exc))}"
    if isinstance(exc, KeyboardInterrupt):
        return "[bold]■ 演练中止 stopped (Ctrl-C):[/] hanging up and tearing down"
    kind = "ERROR (the run could not decide)" if isinstance(exc, HarnessError) else "ERROR"
    return f"[bold red]✗ 无法判定 {kind}:[/] {escape(f'{type(exc).__name__}: {exc}')}"


def call_table(run: ScenarioRun) -> Table:
    """Role, scenario call, state and recent timeline of every call leg the run's phones hold."""
    roles = {phone: f"主叫 caller {escape(name)}" for name, phone in run.caller_phone.items()}
    roles |= {phone: f"坐席 agent {escape(name)}" for name, phone in run.agent_phone.items()}
    table = Table(title="通话状态 call legs", title_justify="left", show_edge=False)
    for column in ("角色 role", "通话 call", "状态 state", "时间线 timeline"):
        table.add_column(column, overflow="fold")
    for (phone, _), tl in run.board.timelines.items():
        table.add_row(roles.get(phone, escape(phone)), escape(_call_id(run, tl)), _state(tl),
                      escape(_recent(tl)))
    return table


def _call_id(run: ScenarioRun, tl: CallTimeline) -> str:
    return next((c.id for c in run.calls.values() if tl in (c.timeline, c.agent_leg)), "-")


def _state(tl: CallTimeline) -> str:
    zh, en, style = CALL_STATES.get(tl.state, (tl.state, tl.state.lower(), ""))
    final = tl.final_status()
    status = escape(f" ({final[0]} {final[1]})".replace(" )", ")")) if final and final[0] else ""
    return f"[{style}]{zh} {en}{status}[/]" if style else f"{zh} {en}{status}"


def _recent(tl: CallTimeline) -> str:
    events = tl.summary().split(", ")
    return ", ".join((["…"] if len(events) > SHOWN_EVENTS else []) + events[-SHOWN_EVENTS:])
