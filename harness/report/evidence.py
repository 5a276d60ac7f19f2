"""The evidence report: ``report.html`` rendered from a run folder's evidence records only.

In Simplified Chinese with English alongside, self-contained (styles and
figures inline; captured and retrieved audio linked from the run folder next
to it, so the same file plays it when opened there). Failures come first,
then the requirement matrix, the evidence scenario by scenario -- the three
core functions', then the supporting items' (security) in a section of their
own -- and what the harness cannot verify. The PDF is printed from the same HTML.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.evidence.records import read_evidence, unfinished
from harness.report.figures import Arrow, bars_svg, ladder_svg, seats_svg, waveform_svg
from harness.report.narration import SUPPORTING_ITEMS, SUPPORTING_WORDS, licence_item, say

VERDICT_WORDS = {
    "passed": ("符合", "conformant"), "not_conformant": ("不符合", "NOT CONFORMANT"),
    "error": ("未能判定", "could not decide"), "uncovered": ("未覆盖", "not covered"),
    "partial": ("部分验证，另一侧待测", "partly shown: a side is still to be run"),
}
LICENCE_KIND = {"nationwide": ("全网", "nationwide, issued by MIIT 工信部"),
                "provincial": ("地网", "provincial, issued by the provincial communications administration 省通信管理局")}
MAX_LADDER = 80  # messages drawn per scenario; the trace files hold all of them


@dataclass(frozen=True)
class Requirement:
    key: str
    zh: str
    en: str
    answers: str  # the clause or review item it answers
    supporting: bool = False  # evidence for a plan the expert review reads, not a core function
    manual: tuple[str, str] | None = None  # what the inspector fills in beside the verdict


REQUIREMENTS = (
    Requirement("ivr", "IVR语音导航", "IVR voice navigation",
                "技术方案·功能测试视频；专家评审·呼叫系统功能；现场核查·演示IVR导航"),
    Requirement("acd", "ACD智能分配", "ACD intelligent distribution",
                "技术方案·功能测试视频；现场核查·演示ACD分配"),
    Requirement("retention", "录音存储≥6个月", "recordings stored at least 6 months (183 days)",
                "技术方案·功能测试视频；专家评审·录音存储"),
    Requirement("retrieval", "录音调取", "recording retrieval",
                "现场核查·演示录音调取"),
    Requirement("auth", "录音须认证访问", "recordings retrievable only with authentication",
                "用户隐私保护方案·数据加密与存储规则"),
    Requirement("security", "信息安全·访问控制与防盗打", "information security — access control and toll-fraud "
                "prevention (wrong passwords, international and unknown numbers refused)",
                "专家评审·信息安全保障措施；用户隐私保护方案·访问控制（辅助证据，非核心功能）", supporting=True),
    Requirement("seats", "工位数量与申报一致", "number of seats matches the application: the declared seats "
                "answer distinct callers at the same moment, every call recorded",
                "现场核查·工位数量", supporting=True,
                manual=("现场清点工位数（核查人员填写）", "workstations counted on site (the inspector writes it)")),
    Requirement("outbound_caller_id", "外呼主叫号码：显示登记号码，不隐藏、不变换",
                "outbound caller ID: the registered number is shown, never withheld, never an "
                "agent's extension, never changed per call",
                "防骚扰承诺书·管控措施；工信部信管〔2020〕81号；反电信网络诈骗法第13-14条（辅助证据）",
                supporting=True,
                manual=("已签署的防骚扰承诺书（申请人提供）", "the signed anti-harassment undertaking "
                        "(the applicant provides it)")),
    Requirement("outbound_hours", "禁呼时段：时段内外呼被拦截，时段外正常呼出",
                "forbidden calling hours: an outbound call inside them is refused and never reaches the "
                "carrier; outside them it goes out",
                "防骚扰承诺书·禁呼时段；工信部信管〔2020〕81号（辅助证据）", supporting=True,
                manual=("防骚扰承诺书所写的禁呼时段（申请人提供）", "the forbidden hours as the signed undertaking "
                        "states them (the applicant provides it)")),
    Requirement("outbound_dnc", "拒呼名单与拒绝后不再呼叫",
                "do-not-call: a number on the list is never dialled; a customer who refused is not called again",
                "防骚扰承诺书·管控措施；无违规外呼风险（辅助证据）", supporting=True),
    Requirement("outbound_dialer", "预测式外呼：呼损率与无声电话",
                "predictive dialling: a customer who answers is put through to an agent within 2 s or hears an "
                "information message, never silence; abandoned calls within the limit",
                "防骚扰承诺书·管控措施；无违规外呼风险；47 CFR 64.1200(a)(7) 与 Ofcom 规则可选（辅助证据）",
                supporting=True),
    Requirement("outbound_recording", "外呼录音：坐席外呼与点击拨号同样录音、可调取",
                "outbound recording: an agent's own outbound call and a click-to-call are recorded with "
                "both parties, retrievable with credentials, kept as inbound recordings are",
                "工信部信管〔2020〕81号·留存通话录音；专家评审·录音存储（辅助证据）", supporting=True),
)

UNVERIFIABLE = (
    ("系统拓扑图", "system topology diagram", "技术方案"),
    ("设备合同", "equipment purchase or lease contracts", "技术方案"),
    ("等保测评报告（二级及以上；金融、医疗三级）", "security grading (等保) report, level 2+ (level 3 for finance/medical)", "信息安全方案"),
    ("数据备份方案", "data backup plan", "专家评审·信息安全"),
    ("应急响应预案", "emergency response plan", "专家评审·信息安全"),
    ("防骚扰承诺书（禁呼时段与管控措施）", "anti-harassment commitment (forbidden calling hours)", "合规文件"),
    ("用户隐私保护方案", "user-privacy protection plan", "合规文件"),
    ("经营场地", "business premises", "现场核查"),
)


@dataclass
class Item:
    """One requirement row: the scenarios (or steps) covering it and the combined verdict."""

    req: Requirement
    covered_by: list[tuple[str, str, str]] = field(default_factory=list)  # (anchor, name, verdict)
    verdict: str = "uncovered"


def combine(verdicts: list[str]) -> str:
    if not verdicts:
        return "uncovered"
    for worst in ("not_conformant", "error", "partial"):
        if worst in verdicts:
            return worst
    return "passed"


def _auth_verdict(step: dict[str, Any]) -> str | None:
    if step["kind"] != "expect_recording" or not step["spec"].get("require_auth", True):
        return None
    status = (step.get("measurements") or {}).get("unauthenticated_status")
    if status is not None:
        return "not_conformant" if int(status) < 300 else "passed"
    if "without credentials" in step.get("detail", ""):
        return "not_conformant"
    return "error" if step["status"] != "passed" else None


def _step_verdict(step: dict[str, Any]) -> str:
    return "passed" if step["status"] == "passed" else \
        ("not_conformant" if step["status"] == "failed" else "error")


STEP_ROWS = {"expect_seats": "seats", "expect_do_not_call": "outbound_dnc", "expect_campaign": "outbound_dialer"}
"""Step kinds whose own verdict covers a row."""


def _step_rows(step: dict[str, Any]) -> list[tuple[str, str]]:
    """The rows one step covers, with the verdict it gives each."""
    kind, verdict = step["kind"], _step_verdict(step)
    rows = [(STEP_ROWS[kind], verdict)] if kind in STEP_ROWS else []
    if kind == "expect_recording":
        rows.append(("retrieval", verdict))
        if "customer" in (step["spec"].get("parties") or ()):  # an outbound call's recording
            rows.append(("outbound_recording", verdict))
    if kind == "expect_forbidden_hours":
        left = (step.get("measurements") or {}).get("unexercised")
        rows.append(("outbound_hours", "partial" if verdict == "passed" and left else verdict))
    if kind == "expect_carrier_call" and step["spec"].get("caller_id"):
        rows.append(("outbound_caller_id", verdict))
    auth = _auth_verdict(step)
    if auth is not None:
        rows.append(("auth", auth))
    return rows


def _message_shown(step: dict[str, Any]) -> bool:
    """A campaign abandoned a call and its customer heard the information message in time."""
    return step["kind"] == "expect_campaign" and step["status"] == "passed" and \
        (step.get("measurements") or {}).get("message_unexercised") is False


def requirement_matrix(scenarios: list[dict[str, Any]]) -> list[Item]:
    items = {r.key: Item(r) for r in REQUIREMENTS}
    for sc in scenarios:
        if sc["licence_item"] in items and sc["licence_item"] != "recording":
            items[sc["licence_item"]].covered_by.append((sc["anchor"], sc["name"], sc["verdict"]))
        for step in sc["steps"]:
            for key, verdict in _step_rows(step):
                items[key].covered_by.append((sc["anchor"], sc["name"], verdict))
    for item in items.values():
        item.verdict = combine([v for _, _, v in item.covered_by])
    shown = any(_message_shown(step) for sc in scenarios for step in sc["steps"])
    if items["outbound_dialer"].verdict == "passed" and not shown:
        items["outbound_dialer"].verdict = "partial"  # the information message was never exercised
    return list(items.values())


def _ladder(sc: dict[str, Any]) -> tuple[str, int]:
    legs = [c for c in sc["calls"] if c["sip"]]
    callers = sorted({c["role"] for c in legs if c["role"].startswith("caller")})
    agents = sorted({c["role"] for c in legs if not c["role"].startswith("caller")})
    columns = [*callers, "平台 platform", *agents]
    arrows = []
    for leg in legs:
        me, platform = columns.index(leg["role"]), columns.index("平台 platform")
        for m in leg["sip"]:
            src, dst = (me, platform) if m["dir"] == "TX" else (platform, me)
            arrows.append(Arrow(leg["at_s"] + m["t"], src, dst, _short(m["first_line"])))
    arrows.sort(key=lambda a: a.t)
    return ladder_svg(columns, arrows[:MAX_LADDER]), len(arrows)


def _short(first_line: str) -> str:
    parts = first_line.split()
    if first_line.startswith("SIP/2.0") and len(parts) >= 2:
        return " ".join(parts[1:])[:40]
    return parts[0] if parts else first_line


def _prompt_figures(sc: dict[str, Any], run_dir: Path) -> dict[int, dict[str, Any]]:
    """For each expect_prompt step that found its prompt: the capture's waveform around the match."""
    captures = {c["call"]: c["capture"] for c in sc["calls"] if c.get("call") and c.get("capture")}
    figures = {}
    for step in sc["steps"]:
        m = step.get("measurements") or {}
        capture = captures.get(step["spec"].get("call"))
        if step["kind"] != "expect_prompt" or "start_s" not in m or capture is None:
            continue
        start, end = float(m["start_s"]), float(m["end_s"])
        svg = waveform_svg(run_dir / capture, max(0.0, start - 1.0), end + 1.0, (start, end))
        figures[step["index"]] = {"svg": svg, "audio": capture}
    return figures


def _distribution(sc: dict[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for step in sc["steps"]:
        m = step.get("measurements") or {}
        if step["kind"] == "expect_distribution" and m.get("table"):
            counts = Counter(row["agent"] or "（未接 unanswered）" for row in m["table"])
            ordered = {a: counts.get(a, 0) for a in m.get("agents", [])}
            ordered.update({a: n for a, n in counts.items() if a not in ordered})
            tables.append({"step": step, "rows": m["table"], "svg": bars_svg(ordered), "note": m.get("note", "")})
    return tables


def _hours(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each expect_forbidden_hours step's attempts, and the sides it left unexercised."""
    return [step.get("measurements") or {} for step in sc["steps"]
            if step["kind"] == "expect_forbidden_hours" and (step.get("measurements") or {}).get("attempts")]


def _dnc(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each expect_do_not_call step's calls: to a listed number, the refused one, the one after."""
    return [step.get("measurements") or {} for step in sc["steps"]
            if step["kind"] == "expect_do_not_call" and (step.get("measurements") or {}).get("attempts")]


def _seats(sc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each expect_seats step's timeline of the seat calls, as a table and one figure."""
    out = []
    for step in sc["steps"]:
        m = step.get("measurements") or {}
        if step["kind"] == "expect_seats" and m.get("timeline"):
            out.append({"step": step, "m": m, "rows": m["timeline"], "svg": seats_svg(m["timeline"], m.get("together_s"))})
    return out


def _relative(path: Any, run_dir: Path) -> str | None:
    if not path:
        return None
    p = Path(str(path))
    try:
        return str(p.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return None


def _recordings(sc: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    out = []
    for step in sc["steps"]:
        m = step.get("measurements") or {}
        if step["kind"] == "expect_recording" and m.get("name"):
            out.append({**m, "link": _relative(m.get("file"), run_dir)})
    return out


def _scenario_view(sc: dict[str, Any], run_dir: Path, index: int) -> dict[str, Any]:
    sc["anchor"] = f"s{index}"
    ladder, messages = _ladder(sc)
    steps = []
    for step in sc["steps"]:
        zh, en = say(step["kind"], step["spec"])
        steps.append({**step, "zh": zh, "en": en})
    return {
        **sc, "steps": steps, "item": licence_item(sc["licence_item"]), "ladder": ladder,
        "supporting": sc["licence_item"] in SUPPORTING_ITEMS, "number": index,
        "ladder_total": messages, "prompts": _prompt_figures(sc, run_dir), "distributions": _distribution(sc), "seats": _seats(sc), "hours": _hours(sc), "dnc": _dnc(sc),
        "recordings": _recordings(sc, run_dir), "verdict_words": VERDICT_WORDS[sc["verdict"]],
        "retention": [s for s in sc["steps"] if s["kind"] in
                      ("expect_retention", "verify_canaries", "expect_retention_proof", "expect_storage")],
    }


@dataclass
class ReportModel:
    run: dict[str, Any]
    end: dict[str, Any] | None
    scenarios: list[dict[str, Any]]
    matrix: list[Item]
    unfinished: list[Mapping[str, Any]] = field(default_factory=list)  # started, never ended (killed)
    ivr_maps: list[dict[str, Any]] = field(default_factory=list)  # discover's pictures, one per map

    @property
    def interrupted(self) -> bool:
        """The run stopped without its end record: killed, or the machine went down."""
        return self.end is None

    @property
    def verdict(self) -> str:
        if not self.scenarios or self.interrupted:
            return "error"  # an interrupted run decided nothing as a whole, whatever it saw so far
        return combine([s["verdict"] for s in self.scenarios])

    @property
    def core(self) -> list[dict[str, Any]]:
        """The scenarios of the three core functions (and of no item)."""
        return [s for s in self.scenarios if not s["supporting"]]

    @property
    def supporting(self) -> list[dict[str, Any]]:
        """The scenarios giving supporting evidence (security), shown after the core ones."""
        return [s for s in self.scenarios if s["supporting"]]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [s for s in self.scenarios if s["verdict"] != "passed"]

    def counts(self) -> Counter[str]:
        return Counter(s["verdict"] for s in self.scenarios)


def load_model(run_dir: Path) -> ReportModel:
    records = read_evidence(run_dir)
    run = next((r for r in records if r["type"] == "run"), {})
    end = next((r for r in records if r["type"] == "end"), None)
    raw = [r for r in records if r["type"] == "scenario"]
    # core functions before supporting items; in each, failures first, then in the matrix's order
    order = {r.key: i for i, r in enumerate(REQUIREMENTS)}
    raw.sort(key=lambda s: (s["licence_item"] in SUPPORTING_ITEMS, s["verdict"] == "passed",
                            order.get(s["licence_item"] or "", 9), s["file"]))
    scenarios = [_scenario_view(sc, run_dir, i) for i, sc in enumerate(raw, 1)]
    return ReportModel(run, end, scenarios, requirement_matrix(scenarios), unfinished(records),
                       _ivr_maps(scenarios, run_dir))


def _ivr_maps(scenarios: list[dict[str, Any]], run_dir: Path) -> list[dict[str, Any]]:
    """Each distinct IVR map picture the generated scenarios carried, as a data URI (the report
    stays one file; an image cannot run a script), with the scenarios generated from it."""
    maps: dict[bytes, dict[str, Any]] = {}
    for sc in scenarios:
        picture = run_dir / sc["ivr_map"] if sc.get("ivr_map") else None
        if picture is None or not picture.is_file():
            continue
        data = picture.read_bytes()
        entry = maps.setdefault(hashlib.sha256(data).digest(), {
            "data": "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii"),
            "file": sc["ivr_map"], "scenarios": []})
        entry["scenarios"].append((sc["anchor"], sc["name"], sc["verdict"]))
    return list(maps.values())


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("harness.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["words"] = lambda v: VERDICT_WORDS.get(v, (v, v))
    return env


def render_html(run_dir: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` into the run folder (atomically) and return its path."""
    from markupsafe import Markup

    model = load_model(run_dir)
    lic = model.run.get("licence", {})
    html = _environment().get_template("report.html.j2").render(
        m=model, run=model.run, lic=lic, kind=LICENCE_KIND.get(lic.get("kind", "nationwide"), ("", "")),
        unverifiable=UNVERIFIABLE, verdicts=VERDICT_WORDS, Markup=Markup, supporting_words=SUPPORTING_WORDS,
        supporting_items=[licence_item(key) for key in sorted(SUPPORTING_ITEMS)],
    )
    out = out or run_dir / "report.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
