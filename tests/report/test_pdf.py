"""The evidence report's PDF, screenshot and console check, with the real Chromium and poppler.

Each Chromium start costs a second or two, so the printed PDFs are made once per module.
"""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from harness.errors import HarnessError
from harness.report.chromium import find_chromium
from harness.report.devtools import console_errors
from harness.report.pdf import (
    print_pdf,
    screenshot,
    split_pdf,
)

CHINESE = ("功能测试视频", "录音存储≥6个月", "IVR语音导航")
NOISE_PAGES = 6  # pages 1-5 carry about 70 kB of noise each, page 6 about 200 kB


def noise_png(side: int) -> bytes:
    """A ``side`` x ``side`` RGB PNG of noise: it cannot be compressed, so its size is known."""
    noise = os.urandom(side * side * 3)
    rows = b"".join(b"\0" + noise[y * side * 3:(y + 1) * side * 3] for y in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1))
            + chunk(b"IEND", b""))


def write_html(path: Path, body: str, title: str = "测试") -> Path:
    path.write_text(f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
                    f"<title>{title}</title></head><body>{body}</body></html>", encoding="utf-8")
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)


def font_names(pdf: Path) -> list[str]:
    """The FontName of every font used on any page.

    Chromium embeds the CFF outlines of Noto CJK as Type 3 fonts, which have no BaseFont, so
    pdffonts shows them as ``[none]``; their FontDescriptor still names the font.
    """
    names = []
    for page in PdfReader(pdf).pages:
        resources: Any = page["/Resources"].get_object()
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            names.append(str(descriptor.get_object()["/FontName"] if descriptor
                             else font.get("/BaseFont")))
    return names


def inked_pixels(pgm: bytes) -> int:
    """How many pixels of a binary 8-bit PGM (as pdftoppm -gray writes it) are darker than mid-grey."""
    magic, width, height, maxval, pixels = pgm.split(maxsplit=4)
    assert magic == b"P5" and maxval == b"255"
    return sum(1 for value in pixels[: int(width) * int(height)] if value < 128)


@pytest.fixture(scope="module")
def chinese_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chinese")
    body = "".join(f"<p>{text} — English text</p>" for text in CHINESE)
    html = write_html(folder / "report.html", f"<h1>呼叫中心 evidence</h1>{body}")
    return print_pdf(html, folder / "out" / "report.pdf")


@pytest.fixture(scope="module")
def noisy_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six pages, each headed ``page N``; the last page's image is three times the others'."""
    folder = tmp_path_factory.mktemp("noisy")
    sections = []
    for number in range(1, NOISE_PAGES + 1):
        image = base64.b64encode(noise_png(260 if number == NOISE_PAGES else 150)).decode()
        sections.append(f'<section style="break-after: page"><h2>第{number}页 page {number}</h2>'
                        f'<img src="data:image/png;base64,{image}"></section>')
    html = write_html(folder / "noisy.html", "".join(sections))
    return print_pdf(html, folder / "noisy.pdf")


def test_chromium_is_installed() -> None:
    assert find_chromium(), "CI installs chromium: apt-get install -y chromium fonts-noto-cjk"


def test_chinese_pdf_embeds_noto_cjk_glyphs_that_extract_as_text(chinese_pdf: Path) -> None:
    fonts = run("pdffonts", str(chinese_pdf)).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the emb column
    names = font_names(chinese_pdf)
    assert any("NotoSansCJK" in name or "NotoSerifCJK" in name or "SourceHan" in name
               for name in names), names
    text = run("pdftotext", str(chinese_pdf), "-").stdout
    for chinese in CHINESE:
        assert chinese in text, text


def test_chinese_pdf_first_page_renders_with_ink(chinese_pdf: Path, tmp_path: Path) -> None:
    run("pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(chinese_pdf), str(tmp_path / "page"))
    (png,) = tmp_path.glob("page-*.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    gray = subprocess.run(["pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", str(chinese_pdf)],
                          capture_output=True, timeout=60, check=True).stdout
    assert inked_pixels(gray) > 200


def usual_mode(folder: Path) -> int:
    """The permissions a file newly written in ``folder`` gets (umask applied)."""
    probe = folder / "probe"
    probe.write_bytes(b"")
    mode = probe.stat().st_mode
    probe.unlink()
    return mode


def test_print_leaves_only_the_pdf_beside_it(chinese_pdf: Path, tmp_path: Path) -> None:
    assert [path.name for path in chinese_pdf.parent.iterdir()] == ["report.pdf"]
    assert chinese_pdf.stat().st_mode == usual_mode(tmp_path)  # not the 0600 of a temp file


def test_pdf_within_the_limit_is_its_own_only_part(chinese_pdf: Path) -> None:
    assert split_pdf(chinese_pdf) == [chinese_pdf]
    assert not list(chinese_pdf.parent.glob("*.part*.pdf"))


def test_split_packs_consecutive_pages_into_numbered_parts_under_the_limit(noisy_pdf: Path) -> None:
    limit = 250_000
    assert noisy_pdf.stat().st_size > limit
    parts = split_pdf(noisy_pdf, limit)
    assert [part.name for part in parts] == [f"noisy.part{i:02d}.pdf" for i in range(1, len(parts) + 1)]
    assert 1 < len(parts) < NOISE_PAGES  # split, and packed: some part holds several pages
    headings = []
    for part in parts:
        assert part.stat().st_size <= limit, part
        assert part.stat().st_mode == usual_mode(part.parent)
        headings += [page.extract_text().split("page ")[1].split()[0]
                     for page in PdfReader(part).pages]
    assert headings == [str(number) for number in range(1, NOISE_PAGES + 1)]
    assert noisy_pdf.exists()


def test_split_names_the_page_that_alone_is_over_the_limit(noisy_pdf: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "noisy.pdf"
    pdf.write_bytes(noisy_pdf.read_bytes())
    with pytest.raises(HarnessError) as caught:
        split_pdf(pdf, 150_000)  # pages 1-5 fit one a part; page 6 does not
    message = str(caught.value)
    assert f"page {NOISE_PAGES} alone is" in message and "150,000 bytes" in message, message
    assert str(pdf) in message
    assert [path.name for path in tmp_path.iterdir()] == ["noisy.pdf"]  # no partial set of parts


ON_HTML: dict[str, Callable[[Path, Path], object]] = {
    "print_pdf": lambda html, out: print_pdf(html, out / "x.pdf"),
    "screenshot": lambda html, out: screenshot(html, out / "x.png"),
    "console_errors": lambda html, out: console_errors(html),
}


@pytest.mark.parametrize("function", ON_HTML)
def test_missing_html_is_named(function: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.html"
    with pytest.raises(HarnessError) as caught:
        ON_HTML[function](missing, tmp_path / "out")
    assert str(missing) in str(caught.value) and "no such HTML file" in str(caught.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_missing_chromium_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    html = write_html(tmp_path / "a.html", "<p>a</p>")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HarnessError, match="apt-get install -y chromium fonts-noto-cjk"):
        print_pdf(html, tmp_path / "a.pdf")
    assert [path.name for path in tmp_path.iterdir()] == ["a.html"]


def test_print_timeout_kills_chromium_and_leaves_no_pdf(tmp_path: Path) -> None:
    html = write_html(tmp_path / "slow.html", "<p>慢</p>")
    with pytest.raises(HarnessError) as caught:
        print_pdf(html, tmp_path / "slow.pdf", timeout=0.05)
    assert str(caught.value) == (f"cannot print {html} to PDF: chromium did not finish within "
                                 f"0.05 s and was killed")
    assert [path.name for path in tmp_path.iterdir()] == ["slow.html"]


def test_screenshot_has_the_window_size(tmp_path: Path) -> None:
    html = write_html(tmp_path / "shot.html", "<h1>功能测试视频</h1>")
    png = screenshot(html, tmp_path / "shots" / "shot.png", width=400, height=300)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (400, 300)


def test_clean_page_has_no_console_errors(tmp_path: Path) -> None:
    html = write_html(tmp_path / "clean.html", "<p>干净</p><script>console.log('fine');"
                                               "console.warn('only a warning')</script>")
    assert console_errors(html) == []


def test_uncaught_exception_is_reported(tmp_path: Path) -> None:
    html = write_html(tmp_path / "boom.html", '<p>x</p><script>throw new Error("boom")</script>')
    assert console_errors(html) == [f"Uncaught Error: boom ({html.as_uri()}:1)"]


def test_console_error_and_missing_image_are_reported(tmp_path: Path) -> None:
    html = write_html(tmp_path / "bad.html", '<script>console.log("fine");\nconsole.error("bad", 42)'
                                             '</script><img src="missing.png">')
    missing = (tmp_path / "missing.png").as_uri()
    # Sorted: the script and the image load race, and which is logged first does not matter here.
    assert sorted(console_errors(html)) == [
        f"console.error: bad 42 ({html.as_uri()}:2)",
        f"network: Failed to load resource: net::ERR_FILE_NOT_FOUND ({missing})",
    ]
