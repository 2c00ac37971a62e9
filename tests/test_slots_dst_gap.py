"""Windows that start or end in a spring-forward gap: a wall time the clocks skip means the
moment of the change, so no slot is ever offered after a window's real end."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practice.booking.slots import AvailabilityRules, WeeklyWindow, open_slots

MINUTE = timedelta(minutes=1)

# Spring-forward Sundays in 2030: zone, day, the wall times the clocks skip.
GAPS = [
    ("America/New_York", date(2030, 3, 10), time(2), time(3)),
    ("America/St_Johns", date(2030, 3, 10), time(2), time(3)),
    ("Europe/London", date(2030, 3, 31), time(1), time(2)),
    ("Australia/Lord_Howe", date(2030, 10, 6), time(2), time(2, 30)),
    ("Pacific/Chatham", date(2030, 9, 29), time(2, 45), time(3, 45)),
]


def wall_to_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Reference mapping, found by walking the clock: the first instant the wall shows `at`,
    or, when the clocks skip it, the first instant whose wall time is past it."""
    naive = datetime.combine(day, at)
    real = [
        option.astimezone(UTC)
        for option in (naive.replace(tzinfo=zone, fold=f) for f in (0, 1))
        if option.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    ]
    if real:
        return min(real)
    instant = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the change
    while instant.astimezone(zone).replace(tzinfo=None) < naive:
        instant += MINUTE
    return instant


def slots_on(zone: str, day: date, start: time, end: time, minutes: int = 30) -> list[str]:
    r = AvailabilityRules(
        timezone=zone,
        windows=(WeeklyWindow(day.weekday(), start, end),),
        length=timedelta(minutes=minutes),
        minimum_notice=timedelta(0),
        horizon=timedelta(days=3),  # that day only, not the next week's
    )
    now = datetime.combine(day - timedelta(days=2), time(0), tzinfo=UTC)
    tz = ZoneInfo(zone)
    return [
        f"{s.start.astimezone(tz):%H:%M%z}-{s.end.astimezone(tz):%H:%M%z}"
        for s in open_slots(r, [], now)
    ]


def test_the_days_really_skip_those_wall_times():
    for zone, day, first, _ in GAPS:
        tz = ZoneInfo(zone)
        skipped = datetime.combine(day, first, tzinfo=tz)
        assert skipped.astimezone(UTC).astimezone(tz).time() != first, zone


def test_new_york_window_ending_in_the_gap_stops_at_the_change():
    # 02:30 never happens on 10 March 2030: the window really ends at 02:00 EST = 03:00 EDT.
    got = slots_on("America/New_York", date(2030, 3, 10), time(1), time(2, 30))
    assert got == ["01:00-0500-01:30-0500", "01:30-0500-03:00-0400"]


def test_new_york_window_starting_in_the_gap_starts_at_the_change():
    got = slots_on("America/New_York", date(2030, 3, 10), time(2, 30), time(4))
    assert got == ["03:00-0400-03:30-0400", "03:30-0400-04:00-0400"]


def test_lord_howe_half_hour_gap():
    # Clocks go 02:00 +10:30 -> 02:30 +11: a window to 02:20 ends at the change.
    got = slots_on("Australia/Lord_Howe", date(2030, 10, 6), time(1), time(2, 20), minutes=20)
    assert got == ["01:00+1030-01:20+1030", "01:20+1030-01:40+1030", "01:40+1030-02:30+1100"]
    got = slots_on("Australia/Lord_Howe", date(2030, 10, 6), time(2, 10), time(3), minutes=20)
    assert got == ["02:30+1100-02:50+1100"]


def test_a_window_wholly_inside_the_gap_offers_nothing():
    assert slots_on("America/New_York", date(2030, 3, 10), time(2, 5), time(2, 55)) == []


def test_the_repeated_autumn_hour_still_means_its_first_occurrence():
    # 01:00-01:30 happens twice on 3 November 2030: the window is the first (EDT) one.
    got = slots_on("America/New_York", date(2030, 11, 3), time(1), time(1, 30))
    assert got == ["01:00-0400-01:30-0400"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gap=st.sampled_from(GAPS),
    start=st.integers(0, 5 * 12),
    span=st.integers(1, 4 * 12),
    length=st.integers(1, 12),
)
def test_a_window_near_a_gap_holds_exactly_the_slots_that_fit_in_real_time(
    gap, start, span, length
):
    zone, day, _, _ = gap
    tz = ZoneInfo(zone)
    start_at = time(start * 5 // 60, start * 5 % 60)
    end_minutes = min(start * 5 + span * 5, 23 * 60 + 55)
    end_at = time(end_minutes // 60, end_minutes % 60)
    r = AvailabilityRules(
        timezone=zone,
        windows=(WeeklyWindow(day.weekday(), start_at, end_at),),
        length=timedelta(minutes=length * 5),
        minimum_notice=timedelta(0),
        horizon=timedelta(days=3),  # that day only, not the next week's
    )
    now = datetime.combine(day - timedelta(days=2), time(0), tzinfo=UTC)
    slots = open_slots(r, [], now)
    first, last = wall_to_instant(day, start_at, tz), wall_to_instant(day, end_at, tz)
    for slot in slots:
        assert first <= slot.start and slot.end <= last, slot
    fits = (last - first - r.length) // r.default_step() + 1 if last - first >= r.length else 0
    assert len(slots) == fits
