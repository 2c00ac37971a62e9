"""What goes on the page: chosen worksheets plus who and when, as plain values, before rendering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from practice.worksheets.catalog import Worksheet

PAPERS = {"letter": "US Letter", "a4": "A4"}
MAX_NAME = 60
MAX_FOCUS = 140


class AssemblyError(ValueError):
    """Input that cannot make a worksheet (the form and the CLI check it first)."""


@dataclass(frozen=True)
class Packet:
    """Everything the print layout needs, and nothing else: also the key of the PDF cache."""

    title: str
    author: str
    practice_name: str
    sheets: tuple[Worksheet, ...]
    partners: tuple[str, str] | None
    date_label: str
    focus: str
    cover: bool
    paper: str
    fillable: bool

    @property
    def personalised(self) -> bool:
        return self.partners is not None

    @property
    def couple(self) -> str:
        return " and ".join(self.partners) if self.partners else ""

    @property
    def minutes(self) -> int:
        return sum(sheet.minutes for sheet in self.sheets)


def clean(text: str | None) -> str:
    """Collapse runs of whitespace (including newlines) to single spaces."""
    return " ".join((text or "").split())


def date_label(day: date) -> str:
    """A date as the practice writes it on paper, e.g. "Wednesday, January 9, 2030"."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def assemble(
    worksheets: Sequence[Worksheet],
    *,
    practice_name: str,
    partners: Sequence[str] | None = None,
    session_date: date | None = None,
    focus: str = "",
    cover: bool = False,
    paper: str = "letter",
    fillable: bool = False,
) -> Packet:
    """A packet: one or more worksheets, blank (no partners) or for a couple on a date."""
    if not worksheets:
        raise AssemblyError("choose at least one worksheet")
    if paper not in PAPERS:
        raise AssemblyError(f"paper must be one of {', '.join(PAPERS)}")
    names: tuple[str, str] | None = None
    if partners is not None:
        cleaned = [clean(name) for name in partners]
        if len(cleaned) != 2 or not all(cleaned):
            raise AssemblyError("give both partners' names, or none for a blank copy")
        if any(len(name) > MAX_NAME for name in cleaned):
            raise AssemblyError(f"names can be at most {MAX_NAME} characters")
        names = (cleaned[0], cleaned[1])
    focus = clean(focus)
    if focus and names is None:
        # A focus line is about one couple; a blank copy for the waiting room never carries one.
        raise AssemblyError("a focus line goes only on a personalised copy")
    if len(focus) > MAX_FOCUS:
        raise AssemblyError(f"the focus line can be at most {MAX_FOCUS} characters")
    sheets = tuple(worksheets)
    # The PDF's own title names the worksheet, never the couple: file lists, search indexes and
    # "recent documents" menus show it to whoever uses the machine.
    title = sheets[0].title if len(sheets) == 1 and not cover else "Session worksheets"
    return Packet(
        title=title,
        author=practice_name,
        practice_name=practice_name,
        sheets=sheets,
        partners=names,
        date_label=date_label(session_date) if session_date and names else "",
        focus=focus,
        cover=cover,
        paper=paper,
        fillable=fillable,
    )
