"""The function test video (功能测试视频): a shot list per core function, and subtitles.

Rendered from the evidence records: for every step worth filming, what to
show on screen, which scenario step produces it, the cue to expect (audio or
visual) and when in the run it happened, so the recording of the screen and
the run line up. The security scenarios' shots (access control, toll fraud)
follow the three core functions in a supporting section of their own, listed
only when such a scenario ran: the application's video is about the three. The
SRT subtitles put each step's sentence pair on the run's clock (the video
starts when the run starts), in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from harness.evidence.records import read_evidence
from harness.report.narration import LICENCE_ITEMS, SUPPORTING_WORDS, say
from harness.steps.registry import BY_NAME

CORE_FUNCTIONS = (
    ("ivr", "IVR语音导航", "IVR voice navigation"),
    ("acd", "ACD智能分配", "ACD intelligent distribution"),
    ("recording", "录音存储≥6个月与录音调取", "recordings kept ≥ 6 months, and retrieved"),
)
SUPPORTING = (("security", *LICENCE_ITEMS["security"]),  # shown only when one of its scenarios ran
              ("outbound", *LICENCE_ITEMS["outbound"]))
_FUNCTION_OF = {"ivr": "ivr", "acd": "acd", "recording": "recording", "retention": "recording",
                "security": "security", "outbound": "outbound"}

def shot_of(kind: str) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """What the video shows for a step of ``kind``, and the cue to hear (None: not filmed)."""
    known = BY_NAME.get(kind)
    return known.shot if known is not None else None


@dataclass(frozen=True)
class Shot:
    function: str
    scenario: str
    file: str
    line: int | None
    step: int
    kind: str
    said: tuple[str, str]
    show: tuple[str, str]
    cue: tuple[str, str]
    at_s: float
    took_s: float
    status: str


def shots(records: list[dict[str, Any]]) -> list[Shot]:
    out = []
    for sc in (r for r in records if r["type"] == "scenario"):
        function = _FUNCTION_OF.get(sc["licence_item"] or "")
        if function is None:
            continue
        for st in sc["steps"]:
            shot = shot_of(st["kind"])
            if shot is None:
                continue
            show, cue = shot
            out.append(Shot(function, sc["name"], sc["file"], st.get("line"), st["index"] + 1, st["kind"],
                            say(st["kind"], st["spec"]), show, cue, st["at_s"], st["took_s"], st["status"]))
    return out


def sections(all_shots: list[Shot]) -> list[tuple[str, str, str, bool]]:
    """(key, Chinese, English, supporting) of each section: the core functions always, then
    each supporting item that has shots."""
    present = {s.function for s in all_shots}
    return [(*f, False) for f in CORE_FUNCTIONS] + [(*f, True) for f in SUPPORTING if f[0] in present]


def clock(seconds: float, sep: str = ".") -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def markdown(all_shots: list[Shot], run: dict[str, Any]) -> str:
    lines = [f"# 功能测试视频拍摄清单 / Function test video shot list — run {run.get('run_id', '')}", "",
             ("录屏从运行开始时开始，时刻即录像中的时间。 The screen recording starts with the run; "
              "times are positions in the video."), ""]
    for key, zh, en, supporting in sections(all_shots):
        mine = [s for s in all_shots if s.function == key]
        lines += [f"## {zh} / {en}", ""]
        if supporting:
            lines += [f"（{SUPPORTING_WORDS[0]} — {SUPPORTING_WORDS[1]}）", ""]
        if not mine:
            lines += ["（本次运行没有该功能的场景 — no scenario of this function ran）", ""]
            continue
        lines += ["| 时刻 at | 画面 show on screen | 场景步骤 scenario step | 预期 cue | 结果 |", "|---|---|---|---|---|"]
        for s in mine:
            where = f"{Path(s.file).name}:{s.line}" if s.line else Path(s.file).name
            lines.append(f"| {clock(s.at_s)} | {s.show[0]} / {s.show[1]} | {s.scenario} — {s.step}. {s.said[0]} / "
                         f"{s.said[1]} ({where}) | {s.cue[0]} / {s.cue[1]} | {s.status} |")
        lines.append("")
    return "\n".join(lines)


def html(all_shots: list[Shot], run: dict[str, Any]) -> str:
    parts = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>功能测试视频拍摄清单 / shot list — {escape(str(run.get('run_id', '')))}</title>",
             ("<style>body{font-family:'Noto Sans CJK SC',sans-serif;font-size:13px;margin:24px}"
              "table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:3px 6px;"
              "vertical-align:top}th{background:#eef2f6}.en{color:#555}.failed{color:#b00}</style></head><body>"),
             "<h1>功能测试视频拍摄清单 <span class='en'>Function test video shot list</span></h1>",
             ("<p>录屏从运行开始时开始。<span class='en'>Start the screen recording with the run; times are "
              "positions in the video.</span></p>")]
    for key, zh, en, supporting in sections(all_shots):
        mine = [s for s in all_shots if s.function == key]
        parts.append(f"<h2>{escape(zh)} <span class='en'>{escape(en)}</span></h2>")
        if supporting:
            parts.append(f"<p>（{escape(SUPPORTING_WORDS[0])} <span class='en'>{escape(SUPPORTING_WORDS[1])}</span>）</p>")
        if not mine:
            parts.append("<p>（本次运行没有该功能的场景 <span class='en'>no scenario of this function ran</span>）</p>")
            continue
        parts.append("<table><tr><th>时刻 <span class='en'>at</span></th><th>画面 <span class='en'>show</span></th>"
                     "<th>场景步骤 <span class='en'>step</span></th><th>预期 <span class='en'>cue</span></th>"
                     "<th>结果</th></tr>")
        for s in mine:
            parts.append(
                f"<tr><td>{clock(s.at_s)}</td><td>{escape(s.show[0])}<br><span class='en'>{escape(s.show[1])}</span></td>"
                f"<td>{escape(s.scenario)} — {s.step}. {escape(s.said[0])}<br><span class='en'>{escape(s.said[1])} "
                f"({escape(Path(s.file).name)}:{s.line or ''})</span></td><td>{escape(s.cue[0])}<br>"
                f"<span class='en'>{escape(s.cue[1])}</span></td><td class='{escape(s.status)}'>{escape(s.status)}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def srt(records: list[dict[str, Any]], languages: tuple[int, ...] = (0, 1), merge_s: float = 1.0) -> str:
    """Every step of every scenario as a cue on the run's clock; ``languages``: 0 Chinese, 1 English.

    Steps that begin within ``merge_s`` of each other share one cue (a flash of
    text is no caption); a cue lasts at least as long as its steps took, at
    least two seconds, and ends before the next one begins.
    """
    steps = sorted(((st["at_s"], st) for sc in records if sc["type"] == "scenario" for st in sc["steps"]),
                   key=lambda x: x[0])
    groups: list[list[tuple[float, dict[str, Any]]]] = []
    for at, st in steps:
        if groups and at - groups[-1][0][0] < merge_s:
            groups[-1].append((at, st))
        else:
            groups.append([(at, st)])
    cues: list[str] = []
    for i, group in enumerate(groups):
        at = group[0][0]
        took = max(a + st["took_s"] for a, st in group) - at
        nxt = groups[i + 1][0][0] if i + 1 < len(groups) else float("inf")
        end = min(at + max(2.0, took), nxt - 0.02)
        said = [say(st["kind"], st["spec"]) for _, st in group]
        text = "\n".join(" · ".join(s[lang] for s in said) for lang in languages)
        cues.append(f"{len(cues) + 1}\n{clock(at, ',')} --> {clock(end, ',')}\n{text}\n")
    return "\n".join(cues)


def write_checklist(run_dir: Path) -> list[Path]:
    """Write the shot list (Markdown and HTML) and the subtitles (bilingual, Chinese, English)."""
    records = read_evidence(run_dir)
    run = next((r for r in records if r["type"] == "run"), {})
    found = shots(records)
    outputs = {
        "video-checklist.md": markdown(found, run),
        "video-checklist.html": html(found, run),
        "subtitles.srt": srt(records),
        "subtitles.zh.srt": srt(records, (0,)),
        "subtitles.en.srt": srt(records, (1,)),
    }
    written = []
    for name, text in outputs.items():
        path = run_dir / name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
