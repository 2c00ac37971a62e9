"""Questionnaires as data: read a form file, check every field, and keep every version."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

KINDS = ("agreement", "choice", "yes_no", "text", "long_text")
TEXT_KINDS = ("text", "long_text")
# A subscale mean from fewer items than this is too noisy to flag anyone on.
MIN_SUBSCALE_ITEMS = 5
DEFAULT_MAX_LENGTH = {"text": 200, "long_text": 4000}
DEFAULT_SCALE = (
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
)
# Ids become form field names and FHIR linkIds, so they stay plain.
_ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FORM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CHOICE_VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_FILE_NAME = re.compile(r"^v([1-9][0-9]*)\.toml$")


class FormFileError(ValueError):
    """A questionnaire file that cannot be used; the message names the file and the field."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        super().__init__(f"{file}: {field}: {problem}")
        self.file = file
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    weight: int | None = None


YES_NO = (Choice("yes", "Yes", 1), Choice("no", "No", 0))


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    kind: str
    section: str
    required: bool = False
    subscale: str | None = None
    reverse: bool = False
    safety: bool = False
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    help: str = ""

    def choice(self, value: str) -> Choice | None:
        """The choice with this value, or None."""
        return next((c for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    items: tuple[Item, ...]
    private: bool = False


@dataclass(frozen=True)
class Subscale:
    id: str
    pattern: str
    title: str
    description: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Pattern:
    id: str
    title: str
    description: str
    elevated: float
    high: float
    provisional: bool
    subscales: tuple[str, ...]


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    title: str
    intro: str
    sections: tuple[Section, ...]
    subscales: tuple[Subscale, ...]
    patterns: tuple[Pattern, ...]
    path: str = ""
    _index: dict[str, Item] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index = {item.id: item for section in self.sections for item in section.items}
        object.__setattr__(self, "_index", index)

    @property
    def items(self) -> dict[str, Item]:
        """Every item, in the order the client sees them."""
        return dict(self._index)

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError if the form has none)."""
        return self._index[item_id]

    @property
    def safety_items(self) -> tuple[Item, ...]:
        """The items judged one by one for a safety concern."""
        return tuple(item for item in self._index.values() if item.safety)

    def subscale(self, subscale_id: str) -> Subscale:
        """The subscale with this id (KeyError if none)."""
        for subscale in self.subscales:
            if subscale.id == subscale_id:
                return subscale
        raise KeyError(subscale_id)

    def pattern(self, pattern_id: str) -> Pattern:
        """The pattern with this id (KeyError if none)."""
        for pattern in self.patterns:
            if pattern.id == pattern_id:
                return pattern
        raise KeyError(pattern_id)


def _shown(path: Path) -> str:
    """The path as a practice would recognise it: relative to the checkout when inside it."""
    from practice.paths import FORMS_DIR

    try:
        return path.resolve().relative_to(FORMS_DIR.parent.resolve()).as_posix()
    except ValueError:
        return str(path)


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


class _Reader:
    """Typed access to the parsed TOML that fails with the file and the field's path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, at: str, problem: str) -> NoReturn:
        raise FormFileError(self.file, at or "(top level)", problem)

    def keys(self, table: dict, at: str, required: set[str], optional: set[str]) -> None:
        for key in table:
            if key not in required and key not in optional:
                self.fail(_join(at, key), "unknown key")
        for key in sorted(required - table.keys()):
            self.fail(_join(at, key), "missing")

    def string(self, table: dict, key: str, at: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            self.fail(_join(at, key), f"must be text, not {type(value).__name__}")
        return value.strip()

    def ident(self, table: dict, key: str, at: str, pattern: re.Pattern[str]) -> str:
        value = self.string(table, key, at)
        if not pattern.match(value):
            self.fail(_join(at, key), f"{value!r} is not a valid id (pattern {pattern.pattern})")
        return value

    def boolean(self, table: dict, key: str, at: str, default: bool = False) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.fail(_join(at, key), f"must be true or false, not {type(value).__name__}")
        return value

    def integer(self, table: dict, key: str, at: str, default: int | None = None) -> int | None:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(_join(at, key), f"must be a whole number, not {type(value).__name__}")
        return value

    def number(self, table: dict, key: str, at: str) -> float:
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(_join(at, key), f"must be a number, not {type(value).__name__}")
        return float(value)

    def tables(self, table: dict, key: str, at: str, *, required: bool = False) -> list[dict]:
        if key not in table:
            if required:
                self.fail(_join(at, key), "missing")
            return []
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(_join(at, key), "must be a list of tables ([[...]] in TOML)")
        return value


def load_questionnaire(path: Path) -> Questionnaire:
    """Read and check one questionnaire file, laid out as <id>/v<version>.toml."""
    path = Path(path)
    file = _shown(path)
    reader = _Reader(file)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        reader.fail("(syntax)", str(exc))
    except OSError as exc:
        reader.fail("(file)", exc.strerror or str(exc))
    return _build(reader, data, path, file)


def _build(r: _Reader, data: dict[str, Any], path: Path, file: str) -> Questionnaire:
    r.keys(
        data,
        "",
        {"id", "version", "title", "sections"},
        {"intro", "scale", "patterns", "subscales"},
    )
    form_id = r.ident(data, "id", "", _FORM_ID)
    version = r.integer(data, "version", "")
    if version is None or version < 1:
        r.fail("version", "must be 1 or more")
    named = _FILE_NAME.match(path.name)
    if not named:
        r.fail("(file name)", "a questionnaire file is named v<version>.toml")
    if int(named.group(1)) != version:
        r.fail("version", f"is {version} but the file is named {path.name}")
    if path.parent.name != form_id:
        r.fail("id", f"is {form_id!r} but the file sits in the folder {path.parent.name!r}")

    scale = _scale(r, data)
    patterns = _patterns(r, data)
    subscale_rows = _subscale_rows(r, data, {p["id"] for p in patterns})
    sections, items = _sections(r, data, scale, subscale_rows)

    subscales = []
    for i, row in enumerate(subscale_rows):
        members = tuple(item.id for item in items if item.subscale == row["id"])
        if len(members) < MIN_SUBSCALE_ITEMS:
            r.fail(
                f"subscales[{i}]",
                f"{row['id']!r} has {len(members)} items; a subscale needs at least "
                f"{MIN_SUBSCALE_ITEMS}",
            )
        subscales.append(Subscale(items=members, **row))

    built_patterns = []
    for i, row in enumerate(patterns):
        owned = tuple(s.id for s in subscales if s.pattern == row["id"])
        if not owned:
            r.fail(f"patterns[{i}]", f"{row['id']!r} has no subscales to score it by")
        built_patterns.append(Pattern(subscales=owned, **row))

    return Questionnaire(
        id=form_id,
        version=version,
        title=r.string(data, "title", ""),
        intro=r.string(data, "intro", "", default=""),
        sections=tuple(sections),
        subscales=tuple(subscales),
        patterns=tuple(built_patterns),
        path=file,
    )


def _scale(r: _Reader, data: dict) -> tuple[Choice, ...]:
    labels: Any = DEFAULT_SCALE
    if "scale" in data:
        table = data["scale"]
        if not isinstance(table, dict):
            r.fail("scale", "must be a table with labels = [...]")
        r.keys(table, "scale", {"labels"}, set())
        labels = table["labels"]
        if (
            not isinstance(labels, list)
            or len(labels) != 5
            or not all(isinstance(x, str) and x.strip() for x in labels)
        ):
            r.fail("scale.labels", "must be five labels, from least to most agreement")
    return tuple(Choice(str(n), label.strip(), n) for n, label in enumerate(labels, start=1))


def _unique(r: _Reader, at: str, value: str, seen: set[str], what: str) -> None:
    if value in seen:
        r.fail(at, f"duplicate {what} id {value!r}")
    seen.add(value)


def _patterns(r: _Reader, data: dict) -> list[dict]:
    rows: list[dict] = []
    seen: set[str] = set()
    for i, table in enumerate(r.tables(data, "patterns", "")):
        at = f"patterns[{i}]"
        r.keys(table, at, {"id", "title", "elevated", "high"}, {"description", "provisional"})
        pattern_id = r.ident(table, "id", at, _ITEM_ID)
        _unique(r, f"{at}.id", pattern_id, seen, "pattern")
        elevated = r.number(table, "elevated", at)
        high = r.number(table, "high", at)
        if not 1 <= elevated < high <= 5:
            # Blame a threshold off the 1-5 scale first; otherwise high is not above elevated.
            field_ = "elevated" if not 1 <= elevated <= 5 else "high"
            r.fail(
                f"{at}.{field_}",
                f"thresholds must satisfy 1 <= elevated < high <= 5 (got {elevated}, {high})",
            )
        rows.append(
            {
                "id": pattern_id,
                "title": r.string(table, "title", at),
                "description": r.string(table, "description", at, default=""),
                "elevated": elevated,
                "high": high,
                # Unless the file says otherwise, our thresholds are not normed.
                "provisional": r.boolean(table, "provisional", at, default=True),
            }
        )
    return rows


def _subscale_rows(r: _Reader, data: dict, pattern_ids: set[str]) -> list[dict]:
    rows: list[dict] = []
    seen: set[str] = set()
    for i, table in enumerate(r.tables(data, "subscales", "")):
        at = f"subscales[{i}]"
        r.keys(table, at, {"id", "pattern", "title"}, {"description"})
        subscale_id = r.ident(table, "id", at, _ITEM_ID)
        _unique(r, f"{at}.id", subscale_id, seen, "subscale")
        pattern = r.string(table, "pattern", at)
        if pattern not in pattern_ids:
            r.fail(f"{at}.pattern", f"unknown pattern {pattern!r}")
        rows.append(
            {
                "id": subscale_id,
                "pattern": pattern,
                "title": r.string(table, "title", at),
                "description": r.string(table, "description", at, default=""),
            }
        )
    return rows


def _sections(
    r: _Reader, data: dict, scale: tuple[Choice, ...], subscales: list[dict]
) -> tuple[list[Section], list[Item]]:
    subscale_ids = {row["id"] for row in subscales}
    sections: list[Section] = []
    items: list[Item] = []
    section_ids: set[str] = set()
    item_ids: set[str] = set()
    section_tables = r.tables(data, "sections", "", required=True)
    if not section_tables:
        r.fail("sections", "a questionnaire needs at least one section")
    for i, table in enumerate(section_tables):
        at = f"sections[{i}]"
        r.keys(table, at, {"id", "title", "items"}, {"intro", "private"})
        section_id = r.ident(table, "id", at, _ITEM_ID)
        _unique(r, f"{at}.id", section_id, section_ids, "section")
        private = r.boolean(table, "private", at)
        item_tables = r.tables(table, "items", at, required=True)
        if not item_tables:
            r.fail(f"{at}.items", "a section needs at least one item")
        own: list[Item] = []
        for j, item_table in enumerate(item_tables):
            item = _item(
                r, item_table, f"{at}.items[{j}]", section_id, private, scale, subscale_ids
            )
            _unique(r, f"{at}.items[{j}].id", item.id, item_ids, "item")
            own.append(item)
        sections.append(
            Section(
                id=section_id,
                title=r.string(table, "title", at),
                intro=r.string(table, "intro", at, default=""),
                items=tuple(own),
                private=private,
            )
        )
        items.extend(own)
    # Sections and items share one namespace as FHIR linkIds.
    for i, section in enumerate(sections):
        if section.id in item_ids:
            r.fail(f"sections[{i}].id", f"{section.id!r} is also an item id")
    return sections, items


def _item(
    r: _Reader,
    table: dict,
    at: str,
    section_id: str,
    private: bool,
    scale: tuple[Choice, ...],
    subscale_ids: set[str],
) -> Item:
    r.keys(
        table,
        at,
        {"id", "kind", "text"},
        {"required", "subscale", "reverse", "safety", "choices", "max_length", "help"},
    )
    item_id = r.ident(table, "id", at, _ITEM_ID)
    kind = r.string(table, "kind", at)
    if kind not in KINDS:
        r.fail(f"{at}.kind", f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    text = r.string(table, "text", at)
    if not text:
        r.fail(f"{at}.text", "must not be empty")

    subscale = None
    if "subscale" in table:
        subscale = r.string(table, "subscale", at)
        if subscale not in subscale_ids:
            r.fail(f"{at}.subscale", f"unknown subscale {subscale!r}")
        if kind != "agreement":
            r.fail(f"{at}.subscale", "only agreement items can be scored in a subscale")
    reverse = r.boolean(table, "reverse", at)
    if reverse and subscale is None:
        r.fail(f"{at}.reverse", "reverse keying only applies to an item in a subscale")

    safety = r.boolean(table, "safety", at)
    if safety:
        if kind != "yes_no":
            r.fail(f"{at}.safety", "a safety item must be a yes_no item")
        if subscale is not None:
            r.fail(f"{at}.safety", "a safety item is judged on its own, never in a subscale")
        if not private:
            r.fail(f"{at}.safety", "a safety item belongs in a section with private = true")

    choices: tuple[Choice, ...] = ()
    if kind == "choice":
        choices = _choices(r, table, at)
    elif "choices" in table:
        r.fail(f"{at}.choices", f"only choice items list choices, not {kind} items")
    elif kind == "agreement":
        choices = scale
    elif kind == "yes_no":
        choices = YES_NO

    max_length = None
    if kind in TEXT_KINDS:
        max_length = r.integer(table, "max_length", at, default=DEFAULT_MAX_LENGTH[kind])
        if max_length < 1:
            r.fail(f"{at}.max_length", "must be 1 or more")
    elif "max_length" in table:
        r.fail(f"{at}.max_length", "only text and long_text items have a maximum length")

    return Item(
        id=item_id,
        text=text,
        kind=kind,
        section=section_id,
        required=r.boolean(table, "required", at),
        subscale=subscale,
        reverse=reverse,
        safety=safety,
        choices=choices,
        max_length=max_length,
        help=r.string(table, "help", at, default=""),
    )


def _choices(r: _Reader, table: dict, at: str) -> tuple[Choice, ...]:
    rows = r.tables(table, "choices", at, required=True)
    if len(rows) < 2:
        r.fail(f"{at}.choices", "a choice item needs at least two choices")
    choices: list[Choice] = []
    seen: set[str] = set()
    for k, row in enumerate(rows):
        cat = f"{at}.choices[{k}]"
        r.keys(row, cat, {"value", "label"}, {"weight"})
        value = r.ident(row, "value", cat, _CHOICE_VALUE)
        _unique(r, f"{cat}.value", value, seen, "choice")
        label = r.string(row, "label", cat)
        if not label:
            r.fail(f"{cat}.label", "must not be empty")
        choices.append(Choice(value, label, r.integer(row, "weight", cat)))
    return tuple(choices)


class Catalog:
    """Every version of every questionnaire, so an old response is read by the form it answered."""

    def __init__(self, questionnaires: list[Questionnaire] | tuple[Questionnaire, ...] = ()):
        self._forms: dict[str, dict[int, Questionnaire]] = {}
        for q in questionnaires:
            versions = self._forms.setdefault(q.id, {})
            if q.version in versions:
                raise ValueError(f"{q.id} version {q.version} is in the catalog twice")
            versions[q.version] = q

    def get(self, form_id: str, version: int | None = None) -> Questionnaire:
        """One version of a questionnaire, the latest by default (KeyError if unknown)."""
        versions = self._forms[form_id]
        if version is None:
            return versions[max(versions)]
        return versions[version]

    def latest(self) -> list[Questionnaire]:
        """The newest version of each questionnaire, by id."""
        return [self.get(form_id) for form_id in sorted(self._forms)]

    def versions(self, form_id: str) -> list[int]:
        """The versions of a questionnaire, oldest first (KeyError if unknown)."""
        return sorted(self._forms[form_id])

    def __contains__(self, form_id: object) -> bool:
        return form_id in self._forms

    def __len__(self) -> int:
        return sum(len(v) for v in self._forms.values())


def load_catalog(folder: Path | None = None) -> Catalog:
    """Load and check every <id>/v<version>.toml under the questionnaires folder."""
    if folder is None:
        from practice.paths import FORMS_DIR

        folder = FORMS_DIR / "questionnaires"
    folder = Path(folder)
    if not folder.is_dir():
        return Catalog()
    found: list[Questionnaire] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file():
            if entry.suffix == ".toml":
                raise FormFileError(
                    _shown(entry), "(file name)", "questionnaires live in <id>/v<version>.toml"
                )
            continue
        for file in sorted(entry.iterdir()):
            if file.suffix != ".toml" or file.name.startswith("."):
                continue
            found.append(load_questionnaire(file))
    return Catalog(found)
