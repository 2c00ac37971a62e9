"""How times read to people: always in a named zone, never a bare clock time."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from markupsafe import Markup, escape


@lru_cache(maxsize=1)
def known_zones() -> tuple[str, ...]:
    """Region/City zone names a person would pick from, sorted."""
    return tuple(
        sorted(
            z
            for z in available_timezones()
            if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
        )
        + ["UTC"]
    )


@lru_cache(maxsize=1024)
def zone_or_none(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def in_zone(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def clock(moment: datetime, zone: str) -> str:
    """'9:30 AM EST' in the given zone."""
    local = in_zone(moment, zone)
    return f"{local:%I:%M %p}".lstrip("0") + f" {local.tzname()}"


def day(moment: datetime, zone: str) -> str:
    """'Tuesday 3 March 2026' in the given zone."""
    local = in_zone(moment, zone)
    return f"{local:%A} {local.day} {local:%B %Y}"


def when(moment: datetime, zone: str) -> str:
    """'Tuesday 3 March 2026 at 9:30 AM EST (America/New_York)'."""
    return f"{day(moment, zone)} at {clock(moment, zone)} ({zone})"


def zone_label(zone: str) -> str:
    return zone.replace("_", " ")


@lru_cache(maxsize=1)
def _zone_option_list() -> str:
    return "".join(
        f'<option value="{escape(z)}">{escape(zone_label(z))}</option>' for z in known_zones()
    )


def zone_options(selected: str) -> Markup:
    """Every zone as <option>s, the visitor's selected: built once, not on every page view."""
    options = _zone_option_list()
    if selected in known_zones():
        marker = f'<option value="{escape(selected)}">'
        options = options.replace(marker, marker[:-1] + " selected>", 1)
    else:
        options = (
            f'<option value="{escape(selected)}" selected>{escape(zone_label(selected))}</option>'
            + options
        )
    return Markup(options)
