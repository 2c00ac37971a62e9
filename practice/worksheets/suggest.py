"""Which worksheets to offer first, from a couple's intake pattern flags."""

from __future__ import annotations

from collections.abc import Iterable, Set

from practice.worksheets.catalog import Worksheet


def suggest(worksheets: Iterable[Worksheet], flags: Set[str]) -> list[Worksheet]:
    """Worksheets suited to more of the flags first; ties and the rest keep library order."""
    ranked = list(worksheets)
    # sorted() is stable, so equal matches stay in the order the library gives them.
    return sorted(ranked, key=lambda w: -len(w.suits & flags))


def suited(worksheet: Worksheet, flags: Set[str]) -> bool:
    """Whether a worksheet is suggested for these flags (shown as a label in the library)."""
    return bool(worksheet.suits & flags)
