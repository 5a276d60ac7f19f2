"""What each step does, said in Simplified Chinese and English, for people watching.

One sentence pair per step kind, filled from the step's fields by the kind's
``say`` (``harness.steps``): the rehearsal mode announces it before the step
runs, the video checklist lists it as a shot, the subtitles caption it. ``spec`` is the step's fields as a mapping
(a step dataclass or its evidence record's ``spec``), so the same words come
out live and when rendering afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from harness.steps.kind import Said
from harness.steps.registry import BY_NAME

LICENCE_ITEMS: dict[str, tuple[str, str]] = {
    "ivr": ("IVR语音导航", "IVR voice navigation"),
    "acd": ("ACD智能分配", "ACD intelligent distribution"),
    "recording": ("录音存储与录音调取", "call recording and retrieval"),
    "retention": ("录音存储≥6个月", "recordings kept at least 6 months"),
    "security": ("信息安全·访问控制与防盗打", "information security — access control and toll-fraud prevention"),
    "outbound": ("外呼合规·防骚扰", "outbound calling compliance — anti-harassment"),
}
# Items that are not among the three core functions of the function test video: their scenarios
# support the information-security plan (信息安全保障措施) and the user-privacy plan
# (用户隐私保护方案) the expert review reads, so the report and the checklist show them apart.
SUPPORTING_ITEMS = frozenset({"security", "outbound"})
SUPPORTING_WORDS: Said = ("辅助证据，非三项核心功能",
                          "supporting evidence, not one of the three core licence functions")


def spec_of(step: Any) -> dict[str, Any]:
    """A step dataclass's fields as a mapping (what evidence records hold as ``spec``)."""
    return {f.name: getattr(step, f.name) for f in dataclasses.fields(step) if f.name != "mark"}


def say(kind: str, spec: Mapping[str, Any]) -> Said:
    """The step as a (Chinese, English) sentence pair."""
    known = BY_NAME.get(kind)
    if known is None:
        return kind, kind.replace("_", " ")
    try:
        return known.say(spec)
    except (KeyError, TypeError):
        return kind, kind.replace("_", " ")


def licence_item(name: str | None) -> Said:
    """The item's title (Chinese, English); an unknown or missing item is "other"."""
    return LICENCE_ITEMS.get(name or "", (name or "其他", name or "other"))
