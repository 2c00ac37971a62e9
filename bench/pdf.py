"""Benchmark: worksheet PDFs against plain WeasyPrint, the cache, and memory over 1,000 renders.

Run: .venv/bin/python bench/pdf.py [--repeat N] [--renders N]
Prints each measurement next to its baseline, measured in the same run, and the targets.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time as timer
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weasyprint import CSS, HTML  # noqa: E402

from practice.paths import FORMS_DIR  # noqa: E402
from practice.worksheets.assembly import assemble  # noqa: E402
from practice.worksheets.catalog import load_catalog  # noqa: E402
from practice.worksheets.rendering import (  # noqa: E402
    PDF_OPTIONS,
    STYLESHEET,
    Printer,
    typesetter,
)

PRACTICE = "Harbour Counselling"
SESSION = date(2030, 1, 9)
MINIMAL = '<!doctype html><html lang="en"><head><title>Minimal</title></head><body><p>Hello</p></body></html>'  # noqa: E501
NAMES = ["Sam", "Alex", "Robin", "Kai", "Jordan", "Morgan", "Avery", "Quinn", "Rowan", "Emery"]


def median_ms(fn, repeat: int) -> float:  # noqa: ANN001
    fn()  # warm up: fonts, the layout, the first PDF
    samples = []
    for _ in range(repeat):
        start = timer.perf_counter()
        fn()
        samples.append((timer.perf_counter() - start) * 1000)
    return statistics.median(samples)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (this measurement needs Linux)")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--renders", type=int, default=1000, help="renders for the memory check")
    args = parser.parse_args()

    catalog = load_catalog(FORMS_DIR / "worksheets")
    setter = typesetter()
    one = catalog.get("our-cycle")

    def personalised(worksheets, n: int = 0, **options):  # noqa: ANN001, ANN003, ANN202
        return assemble(
            worksheets,
            practice_name=PRACTICE,
            partners=(NAMES[n % len(NAMES)], NAMES[(n * 3 + 1) % len(NAMES)] + f" {n}"),
            session_date=SESSION + timedelta(days=n % 365),
            **options,
        )

    def ours_one_page() -> None:
        setter.pdf(personalised([one]))  # assembly + Jinja + WeasyPrint, no cache

    page_css = "@page { size: letter }"
    sample_html = setter.html(personalised([one]))
    stylesheet_text = STYLESHEET.read_text(encoding="utf-8")

    def weasyprint_minimal() -> None:
        # What any caller pays for one page of this size: WeasyPrint's own floor.
        HTML(string=MINIMAL).write_pdf(stylesheets=[CSS(string=page_css)], **PDF_OPTIONS)

    def weasyprint_same_page() -> None:
        # The very same page, rendered the plain way: stylesheet parsed on every call.
        HTML(string=sample_html).write_pdf(
            stylesheets=[CSS(string=stylesheet_text + page_css)], **PDF_OPTIONS
        )

    ours, minimal, same = [], [], []
    for _ in range(3):  # interleave so drift affects all alike
        ours.append(median_ms(ours_one_page, args.repeat // 3))
        minimal.append(median_ms(weasyprint_minimal, args.repeat // 3))
        same.append(median_ms(weasyprint_same_page, args.repeat // 3))
    ours_ms, minimal_ms, same_ms = (statistics.median(x) for x in (ours, minimal, same))
    ratio_minimal, ratio_same = ours_ms / minimal_ms, ours_ms / same_ms
    print(f"one-page worksheet (ours)       {ours_ms:8.1f} ms")
    print(
        f"  vs WeasyPrint minimal page    {minimal_ms:8.1f} ms   ratio {ratio_minimal:5.2f}x  "
        f"(target <= 1.5x) {verdict(ratio_minimal <= 1.5)}"
    )
    print(
        f"  vs WeasyPrint, same page plain{same_ms:8.1f} ms   ratio {ratio_same:5.2f}x  "
        f"(our overhead; target <= 1.5x) {verdict(ratio_same <= 1.5)}"
    )

    packet = personalised(list(catalog.worksheets), cover=True)
    packet_ms = median_ms(lambda: setter.pdf(packet), max(3, args.repeat // 6))
    pages = len(catalog.worksheets) + 2
    print(
        f"eight-worksheet packet ({pages} pages)  {packet_ms:8.1f} ms   "
        f"({packet_ms / pages:.1f} ms a page)"
    )

    printer = Printer()
    repeat_packet = personalised([one])
    printer.pdf(repeat_packet)
    cached_ms = median_ms(lambda: printer.pdf(personalised([one])), args.repeat * 10)
    ratio_cache = cached_ms / ours_ms
    print(
        f"repeated identical print         {cached_ms:8.3f} ms   {ratio_cache:.2%} of a render  "
        f"(target < 5%) {verdict(ratio_cache < 0.05)}"
    )

    worksheets = list(catalog.worksheets)
    for n in range(50):  # settle fonts, glyph caches and the allocator before measuring
        setter.pdf(personalised([worksheets[n % len(worksheets)]], n))
    gc.collect()
    before = rss_mb()
    started = timer.perf_counter()
    for n in range(args.renders):
        # 100 distinct couples over every worksheet and both papers, each rendered afresh.
        paper = "a4" if n % 2 else "letter"
        setter.pdf(personalised([worksheets[n % len(worksheets)]], n % 100, paper=paper))
    gc.collect()
    growth = rss_mb() - before
    seconds = timer.perf_counter() - started
    print(
        f"memory over {args.renders:,} renders         {growth:+8.1f} MB  "
        f"(RSS {before:.0f} -> {before + growth:.0f} MB, {seconds:.0f} s)  "
        f"(target < 20 MB) {verdict(growth < 20)}"
    )


if __name__ == "__main__":
    main()
