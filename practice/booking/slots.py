"""Open consultation slots, computed from a therapist's rules and the times already taken.

Pure: no Flask, no database, and `now` is always passed in, so every case (DST weeks, time
off, buffers, notice, horizon) is a plain function call in a test.

Times come in and go out as aware datetimes. Weekly windows are wall-clock times in the
therapist's own zone ("Mondays 9 to 12 in New York"), so they stay put across DST changes;
candidate starts are then stepped in real (UTC) time inside each window, so a window that a
DST change lengthens or shortens by an hour (or, on Lord Howe Island, half an hour) holds
exactly as many slots as really fit in it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

FIVE_MINUTES = timedelta(minutes=5)


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open span of time [start, end)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class WeeklyWindow:
    """Hours a therapist offers consultations on one weekday (0 = Monday), local time."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class TimeOff:
    """Whole local days off, first and last day included."""

    first_day: date
    last_day: date


@dataclass(frozen=True)
class AvailabilityRules:
    timezone: str
    windows: tuple[WeeklyWindow, ...]
    time_off: tuple[TimeOff, ...] = ()
    length: timedelta = timedelta(minutes=30)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    minimum_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=28)
    accepting_new_clients: bool = True
    step: timedelta | None = None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def default_step(self) -> timedelta:
        """Back-to-back consultations, buffers included, rounded up to five minutes."""
        if self.step is not None:
            return self.step
        whole = self.length + self.buffer_before + self.buffer_after
        return FIVE_MINUTES * math.ceil(whole / FIVE_MINUTES)


@dataclass(frozen=True, order=True)
class Slot:
    """An open consultation time, in UTC."""

    start: datetime
    end: datetime


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime")


def blocked_interval(rules: AvailabilityRules, start: datetime) -> Interval:
    """The time a consultation starting at `start` keeps from others, buffers included."""
    return Interval(start - rules.buffer_before, start + rules.length + rules.buffer_after)


def lookup_range(rules: AvailabilityRules, now: datetime) -> Interval:
    """The only span in which a busy interval can affect any open slot at `now`."""
    _require_aware("now", now)
    return Interval(
        now + rules.minimum_notice - rules.buffer_before,
        now + rules.horizon + rules.length + rules.buffer_after,
    )


class _BusyIndex:
    """Busy intervals merged and sorted, so each overlap test is one binary search."""

    def __init__(self, busy: Iterable[Interval]) -> None:
        merged: list[list[datetime]] = []
        for interval in sorted(busy):
            _require_aware("busy interval", interval.start)
            _require_aware("busy interval", interval.end)
            if interval.end <= interval.start:
                continue
            if merged and interval.start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], interval.end)
            else:
                merged.append([interval.start, interval.end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def overlaps(self, interval: Interval) -> bool:
        # The last merged interval starting before ours ends is the only one that can overlap.
        i = bisect.bisect_left(self.starts, interval.end) - 1
        return i >= 0 and self.ends[i] > interval.start


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time names: the first of a repeated hour (fold=0), and for a
    time the clocks skip (spring forward) the moment of the change, the first that exists."""
    wall = datetime.combine(day, at, tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # In a gap fold=0 reads the old offset, landing as far past the change as the wall time
    # is into the gap: a window ending there would offer slots after its end.
    return _change_between(wall.replace(fold=1).astimezone(UTC), instant, zone)


def _change_between(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (before, after] with the offset `after` has: the change itself."""
    offset = after.astimezone(zone).utcoffset()
    second = timedelta(seconds=1)
    # Offsets change on a whole second; a gap is at most a few hours, so ~15 steps.
    while after - before > second:
        middle = before + (after - before) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        if middle <= before:
            middle = before + second
        if middle.astimezone(zone).utcoffset() == offset:
            after = middle
        else:
            before = middle
    return after


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def open_slots(
    rules: AvailabilityRules,
    busy: Iterable[Interval],
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Slot]:
    """Every open slot, sorted, optionally only those starting in [start, end)."""
    _require_aware("now", now)
    _require_aware("start", start)
    _require_aware("end", end)
    if not rules.accepting_new_clients or not rules.windows:
        return []

    zone = rules.zone
    earliest = now + rules.minimum_notice
    latest = now + rules.horizon  # inclusive
    if start is not None:
        earliest = max(earliest, start)
    if end is not None:
        latest = min(latest, end - timedelta(microseconds=1))
    if latest < earliest:
        return []

    step = rules.default_step()
    if step <= timedelta(0):
        raise ValueError("the step between slots must be positive")
    index = _BusyIndex(busy)
    time_off = [
        Interval(
            _local(off.first_day, time(0), zone),
            _local(off.last_day + timedelta(days=1), time(0), zone),
        )
        for off in rules.time_off
        if off.last_day >= off.first_day
    ]
    by_weekday: dict[int, list[WeeklyWindow]] = {}
    for window in rules.windows:
        by_weekday.setdefault(window.weekday, []).append(window)

    found: set[Slot] = set()
    # One day either side: a window's local day can differ from its UTC day.
    first_day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    for day in _days(first_day, last_day):
        for window in by_weekday.get(day.weekday(), ()):
            window_start = _local(day, window.start, zone)
            window_end = _local(day, window.end, zone)
            candidate = window_start
            while candidate + rules.length <= window_end:
                if candidate > latest:
                    break
                if candidate >= earliest:
                    slot = Interval(candidate, candidate + rules.length)
                    if not any(slot.overlaps(off) for off in time_off) and not index.overlaps(
                        blocked_interval(rules, candidate)
                    ):
                        found.add(Slot(slot.start, slot.end))
                candidate += step
    return sorted(found)


def is_open(
    rules: AvailabilityRules, busy: Iterable[Interval], now: datetime, start: datetime
) -> bool:
    """Whether `start` is exactly one of the open slots right now."""
    _require_aware("start", start)
    candidates = open_slots(rules, busy, now, start=start, end=start + timedelta(microseconds=1))
    return any(slot.start == start for slot in candidates)


def nearest_open(
    rules: AvailabilityRules,
    busy: Iterable[Interval],
    now: datetime,
    target: datetime,
    count: int = 6,
) -> list[Slot]:
    """The `count` open slots closest to `target` (ties go to the earlier), sorted by start."""
    _require_aware("target", target)
    slots = open_slots(rules, busy, now)
    slots.sort(key=lambda slot: (abs(slot.start - target), slot.start))
    return sorted(slots[:count])
