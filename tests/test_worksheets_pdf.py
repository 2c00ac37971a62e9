"""Printed worksheets read back with pypdf: words, names, dates, pages, paper, safety, cache."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date

import pytest
from pypdf import PdfReader

from practice.paths import FORMS_DIR
from practice.worksheets.assembly import AssemblyError, assemble
from practice.worksheets.catalog import load_catalog
from practice.worksheets.rendering import (
    AssetRefused,
    PackagedAssets,
    Printer,
    Typesetter,
    typesetter,
)

CATALOG = load_catalog(FORMS_DIR / "worksheets")
PRACTICE = "Harbour Counselling"
SESSION = date(2030, 1, 9)
HOSTILE = '<img src="file:///etc/passwd">'
SIZES = {"a4": (595, 842), "letter": (612, 792)}


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    # NFKC folds the "fi" ligature DejaVu draws back into two letters.
    return [unicodedata.normalize("NFKC", page.extract_text()) for page in read(pdf).pages]


def couple(ids, **options):  # noqa: ANN001, ANN003, ANN201
    defaults = {
        "practice_name": PRACTICE,
        "partners": ("Sam Rivera", "Alex Moreau"),
        "session_date": SESSION,
    }
    return assemble(CATALOG.pick(ids), **{**defaults, **options})


@pytest.fixture(scope="module")
def setter() -> Typesetter:
    return typesetter()


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_worksheet_prints_on_one_page_with_title_names_date_and_paper_size(setter, paper):
    for worksheet in CATALOG.worksheets:
        pdf = setter.pdf(couple([worksheet.id], paper=paper))
        reader = read(pdf)
        assert len(reader.pages) == 1, worksheet.id
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == SIZES[paper]
        (text,) = page_texts(pdf)
        assert worksheet.title in text
        assert "Sam Rivera" in text and "Alex Moreau" in text
        assert "Wednesday, January 9, 2030" in text
        assert PRACTICE in text
        assert "Page 1 of 1" in text


def test_the_pdf_carries_title_and_author_and_is_tagged_for_accessibility(setter):
    pdf = setter.pdf(couple(["our-cycle"]))
    reader = read(pdf)
    assert reader.metadata.title == "Our cycle"
    assert reader.metadata.author == PRACTICE
    catalog = reader.trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"]  # tagged
    assert "/StructTreeRoot" in catalog
    xmp = catalog["/Metadata"].get_object().get_data()
    assert b"pdfuaid:part>1<" in xmp or b'pdfuaid:part="1"' in xmp  # declares PDF/UA-1


def test_the_couples_names_are_not_in_the_pdf_metadata(setter):
    reader = read(setter.pdf(couple(["our-cycle"], cover=True)))
    metadata = " ".join(str(value) for value in reader.metadata.values())
    assert "Sam Rivera" not in metadata and "Alex Moreau" not in metadata
    assert reader.metadata.title == "Session worksheets"


def test_a_packet_has_a_cover_and_a_contents_page_giving_each_worksheets_page(setter):
    ids = [w.id for w in CATALOG.worksheets]
    pdf = setter.pdf(couple(ids, cover=True, focus="Noticing the cycle early"))
    pages = page_texts(pdf)
    assert len(pages) == 2 + len(ids)  # cover, contents, then one page each
    assert "Session worksheets" in pages[0] and "For Sam Rivera and Alex Moreau" in pages[0]
    assert "Noticing the cycle early" in pages[0]
    assert f"Page 1 of {len(pages)}" in pages[0]
    contents = pages[1]
    assert contents.startswith("Contents") or "Contents" in contents
    for worksheet in CATALOG.worksheets:
        listed = re.search(re.escape(worksheet.title) + r"[ .]*?(\d+)\s*$", contents, re.M)
        assert listed, f"{worksheet.title} missing from contents"
        page_number = int(listed.group(1))
        assert worksheet.title in pages[page_number - 1]
        assert unicodedata.normalize("NFKC", worksheet.purpose[:30]) in pages[page_number - 1]


def test_several_worksheets_without_a_packet_start_each_on_a_new_page(setter):
    pages = page_texts(setter.pdf(couple(["boundaries", "our-cycle"])))
    assert len(pages) == 2
    assert "Boundaries we agree on" in pages[0] and "Our cycle" in pages[1]
    assert "Page 2 of 2" in pages[1]


def test_a_blank_copy_has_lines_for_names_and_no_couple_or_date(setter):
    packet = assemble(CATALOG.pick(["i-and-we"]), practice_name=PRACTICE, paper="a4")
    (text,) = page_texts(setter.pdf(packet))
    assert "I and We" in text and "Names" in text and "Date" in text
    assert "2030" not in text
    assert not packet.personalised


def test_hostile_names_print_as_text_and_fetch_nothing(monkeypatch):
    fetched: list[str] = []
    original = PackagedAssets.fetch

    def spy(self, url, headers=None):  # noqa: ANN001, ANN202
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(PackagedAssets, "fetch", spy)
    setter = Typesetter()
    fetched.clear()  # the stylesheet was parsed above; count only the render
    pdf = setter.pdf(couple(["i-and-we"], partners=(HOSTILE, "Alex"), cover=True))
    text = " ".join(page_texts(pdf))
    assert HOSTILE in text
    assert fetched == ["practice-asset:mark.svg"]  # our own cover mark and nothing else


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/font.woff2",
        "data:text/plain,hello",
        "practice-asset:../../pyproject.toml",
        "practice-asset:/etc/passwd",
        "practice-asset:missing.svg",
    ],
)
def test_the_url_fetcher_serves_only_packaged_print_assets(url):
    with pytest.raises(AssetRefused):
        PackagedAssets().fetch(url)


def test_the_url_fetcher_serves_the_cover_mark():
    response = PackagedAssets().fetch("practice-asset:mark.svg")
    assert response.content_type == "image/svg+xml"
    assert b"<svg" in response.read()


def test_hostile_markup_reaching_weasyprint_directly_is_still_not_fetched(setter, caplog):
    from weasyprint import HTML

    html = '<html lang="en"><body><img src="file:///etc/hostname" alt="x"></body></html>'
    pdf = HTML(string=html, url_fetcher=setter.fetcher).write_pdf(font_config=setter.fonts)
    assert pdf.startswith(b"%PDF-")
    assert "refused to fetch 'file:///etc/hostname'" in caplog.text


def test_a_fillable_copy_has_a_named_field_for_every_space_to_write(setter):
    worksheet = CATALOG.get("asking-for-what-i-need")
    reader = read(setter.pdf(couple([worksheet.id], fillable=True)))
    fields = reader.get_fields()
    # The ladder: 4 rungs x 2 columns for each partner, plus 2 lined prompts each and 1 shared.
    assert len(fields) == 2 * 4 * 2 + 2 * 2 + 1
    tooltips = {str(f.get("/TU")) for f in fields.values()}
    assert any(t.startswith("Sam Rivera: What made asking easier") for t in tooltips)
    assert read(setter.pdf(couple([worksheet.id]))).get_fields() in (None, {})


def test_the_focus_line_appears_only_when_the_therapist_writes_one(setter):
    (with_focus,) = page_texts(setter.pdf(couple(["boundaries"], focus="Evenings after work")))
    (without,) = page_texts(setter.pdf(couple(["boundaries"])))
    assert "Focus for this session: Evenings after work" in with_focus
    assert "Focus" not in without


def test_an_identical_repeat_print_is_served_from_the_cache():
    renders: list[object] = []

    class CountingSetter(Typesetter):
        def pdf(self, packet):  # noqa: ANN001, ANN202
            renders.append(packet)
            return super().pdf(packet)

    printer = Printer(cache_size=4, setter=CountingSetter())
    first = printer.pdf(couple(["our-cycle"]))
    again = printer.pdf(couple(["our-cycle"]))
    other_date = printer.pdf(couple(["our-cycle"], session_date=date(2030, 1, 10)))
    assert again is first
    assert other_date != first
    assert len(renders) == 2
    assert (printer.cache.hits, printer.cache.misses) == (1, 2)


def test_the_cache_forgets_the_least_recently_used_print_when_full():
    printer = Printer(cache_size=2, setter=typesetter())
    a, b, c = (couple(["our-cycle"], paper=p) for p in ("a4", "letter", "a4"))
    c = couple(["boundaries"])
    printer.pdf(a)
    printer.pdf(b)
    printer.pdf(a)  # a is now the most recent
    printer.pdf(c)  # b goes
    assert len(printer.cache) == 2
    printer.pdf(a)
    assert printer.cache.hits == 2
    printer.pdf(b)
    assert printer.cache.misses == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"partners": ("Sam", "")}, "both partners"),
        ({"partners": ("Sam", "x" * 61)}, "at most 60"),
        ({"focus": "x" * 141}, "at most 140"),
        ({"paper": "tabloid"}, "paper"),
        ({"partners": None, "focus": "Our cycle"}, "personalised copy"),
    ],
)
def test_assembly_refuses_input_that_cannot_make_a_worksheet(options, message):
    with pytest.raises(AssemblyError, match=message):
        couple(["our-cycle"], **options)
    with pytest.raises(AssemblyError, match="at least one"):
        assemble([], practice_name=PRACTICE)
