"""The worksheet library: TOML files in forms/worksheets/, checked field by field at start-up."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The intake patterns a worksheet can suit (issue #3 produces them; they only order suggestions).
PATTERN_FLAGS = frozenset({"codependent", "hyper_independent", "pursue_withdraw"})
LAYOUTS = frozenset({"each", "together"})
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_LINES = 12
MAX_TABLE_COLUMNS = 4
MAX_TABLE_ROWS = 8


class CatalogError(ValueError):
    """A worksheet file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Table:
    """A grid to write in: labelled rows down the side, column headings across the top."""

    columns: tuple[str, ...]
    rows: tuple[str, ...]


@dataclass(frozen=True)
class Prompt:
    """One question, with either ruled lines or a table as room to write."""

    text: str
    lines: int = 0
    table: Table | None = None


@dataclass(frozen=True)
class Section:
    """Prompts answered by each partner side by side ("each") or in one shared space."""

    heading: str
    layout: str
    prompts: tuple[Prompt, ...]
    note: str = ""


@dataclass(frozen=True)
class Worksheet:
    id: str
    order: int
    title: str
    purpose: str
    instructions: str
    minutes: int
    suits: frozenset[str]
    sections: tuple[Section, ...]


class _Reader:
    """Reads one file's fields, turning any problem into a CatalogError naming file and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, problem: str) -> CatalogError:
        return CatalogError(f"worksheet file {self.path}: field '{field}': {problem}")

    def text(self, data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str:
        field = f"{where}{key}"
        if key not in data:
            if optional:
                return ""
            raise self.fail(field, "is missing")
        value = data[key]
        if not isinstance(value, str) or (not value.strip() and not optional):
            raise self.fail(field, "must be a non-empty string")
        return " ".join(value.split())

    def integer(self, data: Mapping[str, Any], key: str, where: str, low: int, high: int) -> int:
        field = f"{where}{key}"
        value = data.get(key)
        if value is None:
            raise self.fail(field, "is missing")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(field, f"must be a whole number from {low} to {high}")
        return value

    def strings(self, value: Any, field: str, low: int, high: int) -> tuple[str, ...]:
        if not isinstance(value, list) or not low <= len(value) <= high:
            raise self.fail(field, f"must be a list of {low} to {high} strings")
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise self.fail(field, "must hold only non-empty strings")
        return tuple(" ".join(item.split()) for item in value)

    def unknown_keys(self, data: Mapping[str, Any], allowed: set[str], where: str) -> None:
        # A misspelt key ("lnies") would otherwise be silently ignored and print as nothing.
        for key in data:
            if key not in allowed:
                raise self.fail(f"{where}{key}", "is not a known field")


def _table(reader: _Reader, value: Any, where: str) -> Table:
    if not isinstance(value, dict):
        raise reader.fail(f"{where}table", "must be a table with columns and rows")
    reader.unknown_keys(value, {"columns", "rows"}, f"{where}table.")
    return Table(
        columns=reader.strings(value.get("columns"), f"{where}table.columns", 1, MAX_TABLE_COLUMNS),
        rows=reader.strings(value.get("rows"), f"{where}table.rows", 1, MAX_TABLE_ROWS),
    )


def _prompt(reader: _Reader, data: Any, where: str) -> Prompt:
    if not isinstance(data, dict):
        raise reader.fail(where.rstrip("."), "must be a table")
    reader.unknown_keys(data, {"text", "lines", "table"}, where)
    text = reader.text(data, "text", where)
    if ("lines" in data) == ("table" in data):
        raise reader.fail(f"{where}lines", "give either lines or a table as room to write")
    if "table" in data:
        return Prompt(text=text, table=_table(reader, data["table"], where))
    return Prompt(text=text, lines=reader.integer(data, "lines", where, 1, MAX_LINES))


def _section(reader: _Reader, data: Any, where: str) -> Section:
    if not isinstance(data, dict):
        raise reader.fail(where.rstrip("."), "must be a table")
    reader.unknown_keys(data, {"heading", "layout", "note", "prompts"}, where)
    layout = data.get("layout")
    if layout not in LAYOUTS:
        raise reader.fail(f"{where}layout", f"must be one of {', '.join(sorted(LAYOUTS))}")
    prompts = data.get("prompts")
    if not isinstance(prompts, list) or not prompts:
        raise reader.fail(f"{where}prompts", "must list at least one prompt")
    return Section(
        heading=reader.text(data, "heading", where),
        layout=layout,
        note=reader.text(data, "note", where, optional=True),
        prompts=tuple(_prompt(reader, p, f"{where}prompts[{i}].") for i, p in enumerate(prompts)),
    )


def parse_worksheet(path: Path, data: Mapping[str, Any]) -> Worksheet:
    """One worksheet from a file's parsed TOML; raises CatalogError on any bad field."""
    reader = _Reader(path)
    allowed = {"id", "order", "title", "purpose", "instructions", "minutes", "suits", "sections"}
    reader.unknown_keys(data, allowed, "")
    worksheet_id = reader.text(data, "id", "")
    if not ID_PATTERN.match(worksheet_id):
        raise reader.fail("id", "use lower-case letters, digits and single hyphens")
    if worksheet_id != path.stem:
        raise reader.fail("id", f"must match the file name ({path.stem!r})")
    suits = data.get("suits")
    if not isinstance(suits, list) or not set(suits) <= PATTERN_FLAGS:
        known = ", ".join(sorted(PATTERN_FLAGS))
        raise reader.fail("suits", f"must be a list drawn from: {known}")
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        raise reader.fail("sections", "must list at least one section")
    return Worksheet(
        id=worksheet_id,
        order=reader.integer(data, "order", "", 1, 999),
        title=reader.text(data, "title", ""),
        purpose=reader.text(data, "purpose", ""),
        instructions=reader.text(data, "instructions", ""),
        minutes=reader.integer(data, "minutes", "", 1, 120),
        suits=frozenset(suits),
        sections=tuple(_section(reader, s, f"sections[{i}].") for i, s in enumerate(sections)),
    )


def load_file(path: Path) -> Worksheet:
    """Read and check one worksheet file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"worksheet file {path}: not valid TOML: {exc}") from None
    return parse_worksheet(path, data)


@dataclass(frozen=True)
class Catalog:
    """Every worksheet, in library order."""

    worksheets: tuple[Worksheet, ...]

    def get(self, worksheet_id: str) -> Worksheet | None:
        return next((w for w in self.worksheets if w.id == worksheet_id), None)

    def pick(self, ids: Iterable[str]) -> list[Worksheet]:
        """The named worksheets in the order given; KeyError names an unknown id."""
        picked = []
        for worksheet_id in ids:
            worksheet = self.get(worksheet_id)
            if worksheet is None:
                raise KeyError(worksheet_id)
            picked.append(worksheet)
        return picked


def load_catalog(directory: Path) -> Catalog:
    """Every *.toml in the folder, checked; the first bad file stops with a CatalogError."""
    if not directory.is_dir():
        raise CatalogError(f"worksheet folder {directory} does not exist")
    worksheets = [load_file(path) for path in sorted(directory.glob("*.toml"))]
    if not worksheets:
        raise CatalogError(f"worksheet folder {directory} holds no .toml files")
    seen: dict[int, str] = {}
    for worksheet in worksheets:
        if worksheet.order in seen:
            raise CatalogError(
                f"worksheet file {directory / (worksheet.id + '.toml')}: field 'order': "
                f"{worksheet.order} is also used by {seen[worksheet.order]}"
            )
        seen[worksheet.order] = worksheet.id
    return Catalog(tuple(sorted(worksheets, key=lambda w: w.order)))
