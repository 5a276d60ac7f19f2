"""Render everything a run folder delivers, from its evidence records, and seal it with the manifest.

Order matters: the report, the video checklist and subtitles, the PDF (split
under the upload limit), the Allure HTML, and last the manifest, so the
manifest covers every file the reviewer receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.report.evidence import ReportModel

UPLOAD_LIMIT = 5_000_000  # bytes: one uploaded PDF file at most 5 MB


@dataclass
class Rendered:
    html: Path
    checklist: list[Path]
    pdfs: list[Path] = field(default_factory=list)  # the parts to upload (one when it fits)
    pdf_note: str = ""
    allure: Path | None = None
    allure_note: str = ""
    manifest: Path | None = None
    manifest_sha256: str = ""
    interrupted: str = ""  # why the run folder is incomplete, when it is

    def lines(self) -> list[str]:
        """The paths, as the end of ``ccharness run`` prints them."""
        out = [f"INTERRUPTED RUN: {self.interrupted}"] if self.interrupted else []
        out.append(f"evidence report: {self.html}")
        if self.pdfs:
            label = "PDF" if len(self.pdfs) == 1 else f"PDF ({len(self.pdfs)} parts, each <= 5 MB)"
            out += [f"{label + ':':<16} {p}" for p in self.pdfs]
        else:
            out.append(f"PDF:             not made: {self.pdf_note}")
        out += [f"video checklist: {p}" for p in self.checklist if p.suffix in (".md", ".html")]
        out += [f"subtitles:       {p}" for p in self.checklist if p.name == "subtitles.srt"]
        out.append(f"Allure report:   {self.allure}" if self.allure else f"Allure report:   {self.allure_note}")
        if self.manifest:
            out.append(f"manifest:        {self.manifest} (sha256 {self.manifest_sha256})")
        return out


def _pdf(html: Path) -> tuple[list[Path], str]:
    from harness.report.pdf import print_pdf, split_pdf

    try:
        whole = print_pdf(html, html.with_suffix(".pdf"))
        return split_pdf(whole, UPLOAD_LIMIT), ""
    except HarnessError as exc:
        return [], str(exc)


def render_run(run_dir: Path, pdf: bool = True) -> Rendered:
    from harness.evidence.manifest import write_manifest
    from harness.report.allure import generate_html
    from harness.report.checklist import write_checklist
    from harness.report.evidence import load_model, render_html

    model = load_model(run_dir)
    html = render_html(run_dir)
    rendered = Rendered(html, write_checklist(run_dir), interrupted=_interruption(model))
    if pdf:
        rendered.pdfs, rendered.pdf_note = _pdf(html)
    else:
        rendered.pdf_note = "not asked for"
    rendered.allure, rendered.allure_note = generate_html(run_dir)
    rendered.manifest, rendered.manifest_sha256 = write_manifest(run_dir, complete=not model.interrupted)
    return rendered


def _interruption(model: ReportModel) -> str:
    if not model.interrupted:
        return ""
    running = "; ".join(f"{u['file']} was running" for u in model.unfinished)
    return (f"the evidence has no end record (the harness was killed or the machine went down); "
            f"{len(model.scenarios)} scenario(s) ended before it stopped"
            + (f", {running}" if running else "") + " -- this report is no evidence of the run as a whole")
