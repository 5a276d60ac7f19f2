"""What each step does, said in Simplified Chinese and English, for people watching.

One sentence pair per step kind, filled from the step's fields: the rehearsal
mode announces it before the step runs, the video checklist lists it as a
shot, the subtitles caption it. ``spec`` is the step's fields as a mapping
(a step dataclass or its evidence record's ``spec``), so the same words come
out live and when rendering afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from harness.steps.registry import BY_NAME

LICENCE_ITEMS: dict[str, tuple[str, str]] = {
    "ivr": ("IVR语音导航", "IVR voice navigation"),
    "acd": ("ACD智能分配", "ACD intelligent distribution"),
    "recording": ("录音存储与录音调取", "call recording and retrieval"),
    "retention": ("录音存储≥6个月", "recordings kept at least 6 months"),
}

STRATEGIES: dict[str, str] = {
    "ringall": "同时振铃", "rrmemory": "轮询", "linear": "顺序", "leastrecent": "最久空闲优先",
    "fewestcalls": "最少通话优先", "random": "随机",
}

Said = tuple[str, str]  # (Chinese, English)


def _s(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_s(v) for v in value)
    if isinstance(value, Mapping) and "kind" in value and "value" in value:  # a Destination
        return f"{value['value']}" if value["kind"] != "uri" else str(value["value"])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _s({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


def _call(s: Mapping[str, Any]) -> Said:
    to = _s(s["to"])
    return f"{s.get('caller', 'caller')} 拨打 {to}", f"{s.get('caller', 'caller')} dials {to}"


def _prompt(s: Mapping[str, Any]) -> Said:
    return f"听到提示音「{s['prompt']}」", f"the prompt '{s['prompt']}' is heard"


def _dtmf(s: Mapping[str, Any]) -> Said:
    return f"按键 {s['digits']}", f"press {s['digits']}"


def _agent(s: Mapping[str, Any]) -> Said:
    agents = _s(s["agents"])
    return f"坐席（{agents} 之一）接听", f"an agent ({agents}) answers"


def _distribution(s: Mapping[str, Any]) -> Said:
    name = s["strategy"]
    return (f"核对来电按「{STRATEGIES.get(name, name)}」策略分配给坐席",
            f"check the calls went to agents by the {name} strategy")


PHRASES: dict[str, Callable[[Mapping[str, Any]], Said]] = {
    "call": _call,
    "expect_answer": lambda s: ("平台应答", "the platform answers"),
    "expect_prompt": _prompt,
    "expect_silence": lambda s: (f"静音 {s['duration']} 秒", f"{s['duration']} s of silence"),
    "send_dtmf": _dtmf,
    "expect_dtmf": lambda s: (f"收到按键 {s['digits']}", f"the keys {s['digits']} arrive"),
    "expect_agent": _agent,
    "play": lambda s: ("播放语音", "play audio into the call"),
    "expect_hangup": lambda s: ("平台挂机", "the platform hangs up"),
    "hangup": lambda s: ("挂机", "hang up"),
    "wait": lambda s: (f"等待 {s['duration']} 秒", f"wait {s['duration']} s"),
    "expect_distribution": _distribution,
}


def spec_of(step: Any) -> dict[str, Any]:
    """A step dataclass's fields as a mapping (what evidence records hold as ``spec``)."""
    return {f.name: getattr(step, f.name) for f in dataclasses.fields(step) if f.name != "mark"}


def say(kind: str, spec: Mapping[str, Any]) -> Said:
    """The step as a (Chinese, English) sentence pair."""
    known = BY_NAME.get(kind)
    phrase = known.say if known is not None else PHRASES.get(kind)
    if phrase is None:
        return kind, kind.replace("_", " ")
    try:
        return phrase(spec)
    except (KeyError, TypeError):
        return kind, kind.replace("_", " ")


def licence_item(name: str | None) -> Said:
    return LICENCE_ITEMS.get(name or "", (name or "其他", name or "other"))
