"""The evidence report as PDF and screenshot, by headless Chromium (``harness.report.chromium``).

A licence application wants the HTML evidence report as PDF too, and its upload form takes at
most 5 MB per PDF file, so a larger PDF is split into numbered parts that each fit.
"""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from harness.errors import HarnessError
from harness.report.chromium import check_written, require_file, run_chromium, staging

UPLOAD_LIMIT_BYTES = 5_000_000  # the licence upload form's limit per PDF file


def print_pdf(html: Path, pdf: Path, timeout: float = 180.0) -> Path:
    """Print the local HTML file ``html`` to ``pdf``; return ``pdf``.

    The paper size is the page's CSS ``@page { size: A4 }``, else Chromium's default, Letter.
    """
    source = Path(html).resolve()
    doing = f"print {source} to PDF"
    require_file(source, doing)
    target = Path(pdf)
    with staging(target, doing) as staged:
        # Only here: Chromium 156's renderer dies on navigation with this flag and no printing.
        run_chromium(["--no-pdf-header-footer", f"--print-to-pdf={staged}", source.as_uri()],
                      doing, timeout)
        check_written(staged, b"%PDF-", doing)
    return target


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 1600,
               timeout: float = 120.0) -> Path:
    """Save a ``width`` x ``height`` PNG of the top of the local HTML file ``html``; return ``png``."""
    source = Path(html).resolve()
    doing = f"screenshot {source}"
    require_file(source, doing)
    target = Path(png)
    with staging(target, doing) as staged:
        run_chromium([f"--screenshot={staged}", f"--window-size={width},{height}",
                       "--hide-scrollbars", source.as_uri()], doing, timeout)
        check_written(staged, b"\x89PNG\r\n\x1a\n", doing)
    return target


def split_pdf(pdf: Path, limit_bytes: int = UPLOAD_LIMIT_BYTES) -> list[Path]:
    """``[pdf]`` if it is within ``limit_bytes``, else its parts ``<stem>.part01.pdf``, ... beside it.

    Each part holds as many consecutive pages as fit in ``limit_bytes``, measured on the written
    file; together they hold every page in order. The original stays where it is. A page that
    alone exceeds the limit cannot be split and raises HarnessError naming it; parts already
    written by that call are removed again.
    """
    source = Path(pdf)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise HarnessError(f"cannot split {source}: {exc.strerror}") from exc
    if size <= limit_bytes:
        return [source]
    reader = _read_pdf(source)
    parts: list[Path] = []
    try:
        start = 0
        while start < len(reader.pages):
            end, data = _largest_fitting_range(reader, start, limit_bytes, source)
            part = source.with_name(f"{source.stem}.part{len(parts) + 1:02d}.pdf")
            _write_atomically(part, data)
            parts.append(part)
            start = end
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    return parts


# --- splitting -------------------------------------------------------------------------------


def _read_pdf(pdf: Path) -> PdfReader:
    try:
        reader = PdfReader(pdf)
        if len(reader.pages) == 0:
            raise HarnessError(f"cannot split {pdf}: it has no pages")
        return reader
    except (PdfReadError, OSError, ValueError) as exc:
        raise HarnessError(f"cannot split {pdf}: not a readable PDF ({exc})") from exc


def _largest_fitting_range(reader: PdfReader, start: int, limit: int,
                           pdf: Path) -> tuple[int, bytes]:
    """The end of the longest page range from ``start`` whose PDF fits ``limit``, and that PDF.

    Sizes are measured, not estimated: shared fonts and images make a part smaller than the
    sum of its pages. The range doubles until it is over the limit, then shrinks by halves.
    """
    fitting = _pdf_of_pages(reader, start, start + 1)
    if len(fitting) > limit:
        raise HarnessError(
            f"cannot split {pdf} under {limit:,} bytes: page {start + 1} alone is "
            f"{len(fitting):,} bytes (hint: shrink or downscale the images on that page)")
    fits, over = start + 1, None
    while over is None and fits < len(reader.pages):
        end = min(len(reader.pages), start + 2 * (fits - start))
        data = _pdf_of_pages(reader, start, end)
        if len(data) <= limit:
            fits, fitting = end, data
        else:
            over = end
    while over is not None and over - fits > 1:
        middle = (fits + over) // 2
        data = _pdf_of_pages(reader, start, middle)
        if len(data) <= limit:
            fits, fitting = middle, data
        else:
            over = middle
    return fits, fitting


def _pdf_of_pages(reader: PdfReader, start: int, end: int) -> bytes:
    """The bytes of a PDF holding pages ``start`` to ``end - 1`` (0-based) of ``reader``."""
    writer = PdfWriter()
    for page in reader.pages[start:end]:
        writer.add_page(page)
    if reader.metadata:
        # Keep the title and author on every part; only plain text entries carry over cleanly.
        writer.add_metadata({key: str(value) for key, value in reader.metadata.items()
                             if isinstance(value, str)})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    with staging(path, f"write {path}") as staged:
        try:
            staged.write_bytes(data)
        except OSError as exc:
            raise HarnessError(f"cannot write {path}: {exc.strerror}") from exc


