"""The pure slot computation: DST weeks in both directions, rules, and properties that must
hold for any rules and any busy times."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_slots_dst_gap import wall_to_instant

from practice.booking.slots import (
    AvailabilityRules,
    Interval,
    TimeOff,
    WeeklyWindow,
    blocked_interval,
    is_open,
    lookup_range,
    nearest_open,
    open_slots,
)

MINUTE = timedelta(minutes=1)


def every_day(start: time, end: time) -> tuple[WeeklyWindow, ...]:
    return tuple(WeeklyWindow(day, start, end) for day in range(7))


def rules(zone: str, windows, **overrides) -> AvailabilityRules:
    values = dict(
        timezone=zone,
        windows=windows,
        length=timedelta(minutes=30),
        minimum_notice=timedelta(0),
        horizon=timedelta(days=60),
    )
    values.update(overrides)
    return AvailabilityRules(**values)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_starts(slots, zone: str, day: date) -> list[str]:
    tz = ZoneInfo(zone)
    return [
        s.start.astimezone(tz).strftime("%H:%M%z")
        for s in slots
        if s.start.astimezone(tz).date() == day
    ]


# ---------------------------------------------------------------------------------------------
# DST: a 9-to-12 window stays 9 to 12 on the wall clock through the transition week, and a
# window that straddles the change holds exactly the slots that really fit in it.

TRANSITIONS = [
    # zone, transition day, offset before, offset after
    ("America/New_York", date(2026, 3, 8), timedelta(hours=-5), timedelta(hours=-4)),
    ("America/New_York", date(2026, 11, 1), timedelta(hours=-4), timedelta(hours=-5)),
    ("Europe/London", date(2026, 3, 29), timedelta(0), timedelta(hours=1)),
    ("Europe/London", date(2026, 10, 25), timedelta(hours=1), timedelta(0)),
    ("Australia/Lord_Howe", date(2026, 4, 5), timedelta(hours=11), timedelta(hours=10.5)),
    ("Australia/Lord_Howe", date(2026, 10, 4), timedelta(hours=10.5), timedelta(hours=11)),
]


@pytest.mark.parametrize(("zone", "day", "before", "after"), TRANSITIONS)
def test_the_zone_really_changes_offset_that_day(zone, day, before, after):
    tz = ZoneInfo(zone)
    assert datetime.combine(day - timedelta(days=1), time(12), tz).utcoffset() == before
    assert datetime.combine(day + timedelta(days=1), time(12), tz).utcoffset() == after


@pytest.mark.parametrize(("zone", "day", "before", "after"), TRANSITIONS)
def test_wall_clock_window_holds_through_the_transition_week(zone, day, before, after):
    r = rules(zone, every_day(time(9), time(12)))
    now = datetime.combine(day - timedelta(days=4), time(0), ZoneInfo(zone)).astimezone(UTC)
    slots = open_slots(r, [], now)
    for offset in range(-3, 4):
        d = day + timedelta(days=offset)
        got = [t[:5] for t in local_starts(slots, zone, d)]
        assert got == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"], d
    # ...while the UTC instants move by exactly the change in offset.
    first_before = min(
        s.start
        for s in slots
        if s.start.astimezone(ZoneInfo(zone)).date() == day - timedelta(days=1)
    )
    first_after = min(
        s.start
        for s in slots
        if s.start.astimezone(ZoneInfo(zone)).date() == day + timedelta(days=1)
    )
    assert first_after - first_before == timedelta(days=2) - (after - before)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # 01:00-04:00 on the wall clock is only two real hours when clocks jump 02:00 -> 03:00.
        (
            "America/New_York",
            date(2026, 3, 8),
            ["01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"],
        ),
        # ...and four real hours when 01:00-02:00 happens twice.
        (
            "America/New_York",
            date(2026, 11, 1),
            [
                "01:00-0400",
                "01:30-0400",
                "01:00-0500",
                "01:30-0500",
                "02:00-0500",
                "02:30-0500",
                "03:00-0500",
                "03:30-0500",
            ],
        ),
        # London jumps 01:00 -> 02:00 and back; the window 00:00-03:00.
        (
            "Europe/London",
            date(2026, 3, 29),
            ["00:00+0000", "00:30+0000", "02:00+0100", "02:30+0100"],
        ),
        (
            "Europe/London",
            date(2026, 10, 25),
            [
                "00:00+0100",
                "00:30+0100",
                "01:00+0100",
                "01:30+0100",
                "01:00+0000",
                "01:30+0000",
                "02:00+0000",
                "02:30+0000",
            ],
        ),
        # Lord Howe moves only half an hour: 02:00 -> 01:30 in April, 02:00 -> 02:30 in October.
        (
            "Australia/Lord_Howe",
            date(2026, 4, 5),
            [
                "01:00+1100",
                "01:30+1100",
                "01:30+1030",
                "02:00+1030",
                "02:30+1030",
                "03:00+1030",
                "03:30+1030",
            ],
        ),
        (
            "Australia/Lord_Howe",
            date(2026, 10, 4),
            ["01:00+1030", "01:30+1030", "02:30+1100", "03:00+1100", "03:30+1100"],
        ),
    ],
)
def test_window_across_the_change_holds_the_real_time(zone, day, expected):
    start = time(0) if zone == "Europe/London" else time(1)
    end = time(3) if zone == "Europe/London" else time(4)
    r = rules(zone, (WeeklyWindow(day.weekday(), start, end),))
    now = datetime.combine(day - timedelta(days=2), time(0), ZoneInfo(zone)).astimezone(UTC)
    slots = open_slots(r, [], now, end=now + timedelta(days=4))
    assert local_starts(slots, zone, day) == expected
    # Every slot is a real 30 minutes long, and none overlap.
    for a, b in zip(slots, slots[1:], strict=False):
        assert a.end - a.start == timedelta(minutes=30)
        assert a.end <= b.start


def test_busy_time_in_the_repeated_hour_blocks_only_its_own_instant():
    zone, day = "America/New_York", date(2026, 11, 1)
    r = rules(zone, (WeeklyWindow(day.weekday(), time(1), time(4)),))
    now = utc(2026, 10, 30)
    # 01:00 EST (the second 01:00) is 06:00 UTC.
    busy = [Interval(utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 30))]
    got = local_starts(open_slots(r, busy, now), zone, day)
    assert "01:00-0400" in got and "01:00-0500" not in got


# ---------------------------------------------------------------------------------------------
# The rules one by one.

NOW = utc(2030, 1, 7, 6)  # a Monday


def test_notice_and_horizon():
    r = rules(
        "UTC",
        every_day(time(9), time(12)),
        minimum_notice=timedelta(hours=27),
        horizon=timedelta(days=2),
    )
    slots = open_slots(r, [], NOW)
    assert slots[0].start == utc(2030, 1, 8, 9)  # Monday 09:00 is under 27 hours away
    assert slots[-1].start == utc(2030, 1, 8, 11, 30)  # Wednesday 09:00 is past 48 hours
    r = rules(
        "UTC",
        every_day(time(9), time(12)),
        minimum_notice=timedelta(hours=3),
        horizon=timedelta(hours=3),
    )
    assert [s.start for s in open_slots(r, [], NOW)] == [utc(2030, 1, 7, 9)]


def test_several_windows_a_day_and_a_length_that_does_not_divide_them():
    r = rules(
        "UTC",
        (WeeklyWindow(0, time(9), time(10)), WeeklyWindow(0, time(14), time(15, 15))),
        length=timedelta(minutes=25),
        horizon=timedelta(days=1),
    )
    starts = [s.start.strftime("%H:%M") for s in open_slots(r, [], NOW)]
    assert starts == ["09:00", "09:25", "14:00", "14:25", "14:50"]


def test_buffers_space_the_slots_and_keep_clear_of_bookings():
    r = rules(
        "UTC",
        (WeeklyWindow(0, time(9), time(12)),),
        length=timedelta(minutes=20),
        buffer_before=timedelta(minutes=5),
        buffer_after=timedelta(minutes=7),
        horizon=timedelta(days=1),
    )
    assert r.default_step() == timedelta(minutes=35)  # 32 minutes rounded up to 5
    starts = [s.start for s in open_slots(r, [], NOW)]
    assert [s.strftime("%H:%M") for s in starts] == ["09:00", "09:35", "10:10", "10:45", "11:20"]
    booked = blocked_interval(r, utc(2030, 1, 7, 10, 10))
    assert booked == Interval(utc(2030, 1, 7, 10, 5), utc(2030, 1, 7, 10, 37))
    # A slot whose own buffers would touch the booking's is gone too.
    busy = [Interval(utc(2030, 1, 7, 10, 0), utc(2030, 1, 7, 10, 4))]
    starts = [s.start.strftime("%H:%M") for s in open_slots(r, busy, NOW)]
    # 09:35 keeps 09:30-10:02, which touches 10:00-10:04; 10:10 keeps from 10:05, clear of it.
    assert starts == ["09:00", "10:10", "10:45", "11:20"]
    assert "10:10" not in [s.start.strftime("%H:%M") for s in open_slots(r, [booked], NOW)]


def test_time_off_is_whole_local_days():
    zone = "Pacific/Auckland"  # far from UTC, so local days and UTC days differ
    r = rules(
        zone,
        every_day(time(8), time(10)),
        time_off=(TimeOff(date(2030, 1, 9), date(2030, 1, 10)),),
        horizon=timedelta(days=6),
    )
    days = {s.start.astimezone(ZoneInfo(zone)).date() for s in open_slots(r, [], NOW)}
    assert date(2030, 1, 8) in days and date(2030, 1, 11) in days
    assert date(2030, 1, 9) not in days and date(2030, 1, 10) not in days


def test_not_accepting_or_no_windows_means_no_slots():
    assert (
        open_slots(rules("UTC", every_day(time(9), time(12)), accepting_new_clients=False), [], NOW)
        == []
    )
    assert open_slots(rules("UTC", ()), [], NOW) == []


def test_naive_datetimes_are_refused():
    r = rules("UTC", every_day(time(9), time(12)))
    with pytest.raises(ValueError):
        open_slots(r, [], datetime(2030, 1, 7, 6))
    with pytest.raises(ValueError):
        open_slots(r, [Interval(datetime(2030, 1, 7, 9), datetime(2030, 1, 7, 10))], NOW)


def test_is_open_and_nearest_open():
    r = rules("UTC", (WeeklyWindow(0, time(9), time(12)),), horizon=timedelta(days=1))
    busy = [Interval(utc(2030, 1, 7, 10), utc(2030, 1, 7, 10, 30))]
    assert is_open(r, busy, NOW, utc(2030, 1, 7, 9, 30))
    assert not is_open(r, busy, NOW, utc(2030, 1, 7, 10))
    assert not is_open(r, busy, NOW, utc(2030, 1, 7, 9, 10))  # not on the grid
    assert not is_open(r, busy, NOW, utc(2030, 1, 7, 13))  # outside the window
    near = nearest_open(r, busy, NOW, utc(2030, 1, 7, 10), count=3)
    assert [s.start.strftime("%H:%M") for s in near] == ["09:00", "09:30", "10:30"]


def test_start_and_end_narrow_the_range():
    r = rules("UTC", every_day(time(9), time(12)))
    got = open_slots(r, [], NOW, start=utc(2030, 1, 8), end=utc(2030, 1, 9))
    assert {s.start.date() for s in got} == {date(2030, 1, 8)} and len(got) == 6


# ---------------------------------------------------------------------------------------------
# Properties, for any rules and any busy times.

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
]
# Spans both 2026 changes in the northern zones and both Lord Howe ones.
BASE = utc(2026, 3, 1)


@st.composite
def windows(draw):
    result = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, 22 * 12)) * 5
        end = draw(st.integers(start // 5 + 1, 24 * 12 - 1)) * 5
        result.append(
            WeeklyWindow(
                draw(st.integers(0, 6)), time(start // 60, start % 60), time(end // 60, end % 60)
            )
        )
    return tuple(result)


@st.composite
def scenarios(draw):
    now = BASE + timedelta(minutes=draw(st.integers(0, 260 * 24 * 60)))
    r = AvailabilityRules(
        timezone=draw(st.sampled_from(ZONES)),
        windows=draw(windows()),
        time_off=tuple(
            TimeOff(d, d + timedelta(days=draw(st.integers(0, 3))))
            for d in draw(
                st.lists(st.dates(now.date(), now.date() + timedelta(days=20)), max_size=2)
            )
        ),
        length=timedelta(minutes=draw(st.integers(20, 30))),
        buffer_before=timedelta(minutes=draw(st.integers(0, 15))),
        buffer_after=timedelta(minutes=draw(st.integers(0, 15))),
        minimum_notice=timedelta(hours=draw(st.integers(0, 48))),
        horizon=timedelta(days=draw(st.integers(1, 14))),
    )
    busy = [
        Interval(s, s + timedelta(minutes=draw(st.integers(1, 240))))
        for s in (
            now + timedelta(minutes=m)
            for m in draw(st.lists(st.integers(-2 * 24 * 60, 18 * 24 * 60), max_size=25))
        )
    ]
    return r, busy, now


def inside_some_window(r: AvailabilityRules, slot) -> bool:
    local_day = slot.start.astimezone(r.zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        for w in r.windows:
            if w.weekday != day.weekday():
                continue
            # Walked on the real clock: a wall time skipped in spring means the change itself.
            ws = wall_to_instant(day, w.start, r.zone)
            we = wall_to_instant(day, w.end, r.zone)
            if ws <= slot.start and slot.end <= we:
                return True
    return False


def on_time_off(r: AvailabilityRules, slot) -> bool:
    days = {slot.start.astimezone(r.zone).date(), (slot.end - MINUTE).astimezone(r.zone).date()}
    return any(off.first_day <= d <= off.last_day for off in r.time_off for d in days)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_slot_ever_breaks_a_rule(scenario):
    r, busy, now = scenario
    slots = open_slots(r, busy, now)
    assert slots == sorted(set(slots))
    for slot in slots:
        assert slot.end - slot.start == r.length
        assert now + r.minimum_notice <= slot.start <= now + r.horizon
        assert inside_some_window(r, slot), slot
        assert not on_time_off(r, slot), slot
        blocked = blocked_interval(r, slot.start)
        assert not any(blocked.overlaps(b) for b in busy), slot
        assert is_open(r, busy, now, slot.start)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_busy_time_only_removes_slots_and_only_within_the_lookup_range(scenario):
    r, busy, now = scenario
    free = open_slots(r, [], now)
    with_busy = open_slots(r, busy, now)
    assert set(with_busy) <= set(free)
    # Only busy intervals inside lookup_range matter: the database fetches no more than that.
    window = lookup_range(r, now)
    assert open_slots(r, [b for b in busy if b.overlaps(window)], now) == with_busy
    # Each slot that busy time removed really collides with some busy interval.
    for slot in set(free) - set(with_busy):
        assert any(blocked_interval(r, slot.start).overlaps(b) for b in busy)
