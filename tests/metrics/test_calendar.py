"""The working-day calendar: Korean holidays of 2026 and callback due times under both rules.

Every expected due time below is worked out by hand from the definition (DESIGN.md, "Callback
promise"): 8 working hours count 09:00-12:00 and 13:00-18:00 of working days; 24 clock hours
count 00:00-24:00 of working days; weekends and holidays count nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from callmon.core.errors import ConfigError
from callmon.metrics.calendar import WorkingCalendar, describe_rule, due_at
from tests.metrics.conftest import kst

CAL = WorkingCalendar()
HOUR = 3600.0


# --- which days are worked -------------------------------------------------------------------

@pytest.mark.parametrize("day", [date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)])
def test_chuseok_2026_days_are_holidays(day):
    """Chuseok 2026 is 24-26 September."""
    assert CAL.holiday_name(day)
    assert not CAL.is_working_day(day)


def test_chuseok_2026_saturday_has_no_substitute_day():
    """Chuseok's Saturday (26 Sept) gives no substitute: Monday 28 September is a working day."""
    assert CAL.is_working_day(date(2026, 9, 28))


@pytest.mark.parametrize("day", [date(2026, 3, 2), date(2026, 5, 25), date(2026, 8, 17), date(2026, 10, 5)])
def test_2026_substitute_holidays_are_not_working_days(day):
    """The 2026 substitute holidays (Mondays after a weekend holiday) are days off."""
    assert day.weekday() == 0
    assert not CAL.is_working_day(day)


def test_may_first_2026_is_a_public_holiday():
    """노동절 is a public holiday from 2026 (Public Holidays Act, 2026 amendment), so not worked."""
    assert not CAL.is_working_day(date(2026, 5, 1))


def test_constitution_day_2026_is_a_public_holiday():
    """제헌절 (17 July) is a public holiday again from 2026."""
    assert not CAL.is_working_day(date(2026, 7, 17))


def test_local_election_day_2026_is_a_holiday():
    """3 June 2026, the local elections, is a day off."""
    assert not CAL.is_working_day(date(2026, 6, 3))


def test_weekends_are_not_working_days_and_weekdays_are():
    """Saturday and Sunday are off; an ordinary Wednesday is worked."""
    assert not CAL.is_working_day(date(2026, 11, 21))
    assert not CAL.is_working_day(date(2026, 11, 22))
    assert CAL.is_working_day(date(2026, 11, 18))


def test_overrides_add_local_holidays_and_working_days():
    """The config's lists close a day the library works and open a day it closes."""
    cal = WorkingCalendar(extra_holidays=["2026-12-31"], extra_working_days=[date(2026, 5, 1)])
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.holiday_name(date(2026, 12, 31)) == "local holiday"
    assert cal.is_working_day(date(2026, 5, 1))
    assert cal.holiday_name(date(2026, 5, 1)) is None


# --- due times: the DESIGN.md examples and the hard cases ------------------------------------

@pytest.mark.parametrize(
    "missed, due",
    [
        (kst(2026, 11, 18, 15), kst(2026, 11, 19, 15)),
        (kst(2026, 11, 19, 20), kst(2026, 11, 20, 18)),
        (kst(2026, 11, 18, 11), kst(2026, 11, 19, 11)),
    ],
)
def test_design_examples_hold_for_eight_working_hours(missed, due):
    """DESIGN.md's three examples of the default rule."""
    assert due_at(missed, calendar=CAL) == due


WORKING = [
    # missed                      due (8 working hours)          why
    (kst(2026, 9, 23, 15), kst(2026, 9, 28, 15)),    # 3 h Wed, Chuseok Thu-Sat, Sun, 5 h Mon
    (kst(2026, 9, 25, 11), kst(2026, 9, 28, 18)),    # missed on Chuseok: counts from Mon 09:00
    (kst(2026, 2, 27, 16), kst(2026, 3, 3, 16)),     # 2 h Fri, weekend, 3/2 substitute, 6 h Tue
    (kst(2026, 5, 22, 10), kst(2026, 5, 26, 10)),    # 7 h Fri, weekend, 5/25 substitute, 1 h Tue
    (kst(2026, 8, 14, 17, 30), kst(2026, 8, 18, 17, 30)),  # 0.5 h Fri, weekend, 8/17 substitute
    (kst(2026, 10, 2, 14), kst(2026, 10, 6, 14)),    # 4 h Fri, 10/3 Sat, Sun, 10/5 substitute
    (kst(2026, 4, 30, 13), kst(2026, 5, 4, 12)),     # 5 h Thu, 5/1 holiday, weekend, 3 h Mon: ends at lunch
    (kst(2026, 7, 16, 16), kst(2026, 7, 20, 16)),    # 2 h Thu, 7/17 holiday, weekend, 6 h Mon
    (kst(2026, 11, 20, 17), kst(2026, 11, 23, 17)),  # Friday 17:00: 1 h Fri, 7 h Mon
    (kst(2026, 11, 20, 19), kst(2026, 11, 23, 18)),  # Friday evening: all 8 h on Monday
    (kst(2026, 11, 18, 12, 30), kst(2026, 11, 19, 12)),  # lunch: counts from 13:00
    (kst(2026, 11, 18, 12), kst(2026, 11, 19, 12)),  # exactly 12:00 is lunch too
    (kst(2026, 11, 18, 7), kst(2026, 11, 18, 18)),   # before 09:00: the whole day that day
    (kst(2026, 11, 18, 18), kst(2026, 11, 19, 18)),  # exactly 18:00: nothing left that day
    (kst(2026, 11, 21, 10), kst(2026, 11, 23, 18)),  # Saturday: counts from Monday 09:00
]


@pytest.mark.parametrize("missed, due", WORKING)
def test_eight_working_hours_skip_nights_lunch_weekends_and_holidays(missed, due):
    """Due when 8 office hours of working days have elapsed since the miss."""
    assert due_at(missed, "working_hours", 8, CAL) == due


CLOCK = [
    # missed                      due (24 clock hours of working days)
    (kst(2026, 11, 18, 15), kst(2026, 11, 19, 15)),  # an ordinary weekday: a day later
    (kst(2026, 11, 19, 20), kst(2026, 11, 20, 20)),  # evening counts
    (kst(2026, 11, 18, 12, 30), kst(2026, 11, 19, 12, 30)),  # lunch counts
    (kst(2026, 11, 20, 19), kst(2026, 11, 23, 19)),  # Friday evening: 5 h Fri, 19 h Mon
    (kst(2026, 11, 21, 10), kst(2026, 11, 24, 0)),   # Saturday: the whole of Monday
    (kst(2026, 9, 23, 15), kst(2026, 9, 28, 15)),    # 9 h Wed, Chuseok, weekend, 15 h Mon
    (kst(2026, 9, 25, 11), kst(2026, 9, 29, 0)),     # missed on Chuseok: the whole of Monday
    (kst(2026, 2, 27, 16), kst(2026, 3, 3, 16)),     # 8 h Fri, weekend, 3/2, 16 h Tue
    (kst(2026, 5, 22, 10), kst(2026, 5, 26, 10)),    # 14 h Fri, weekend, 5/25, 10 h Tue
    (kst(2026, 8, 14, 17, 30), kst(2026, 8, 18, 17, 30)),
    (kst(2026, 10, 2, 14), kst(2026, 10, 6, 14)),
    (kst(2026, 4, 30, 13), kst(2026, 5, 4, 13)),     # 11 h Thu, 5/1, weekend, 13 h Mon
    (kst(2026, 7, 16, 16), kst(2026, 7, 20, 16)),    # 8 h Thu, 7/17, weekend, 16 h Mon
]


@pytest.mark.parametrize("missed, due", CLOCK)
def test_twenty_four_clock_hours_count_whole_working_days_only(missed, due):
    """Due when 24 hours of working days (00:00-24:00) have elapsed since the miss."""
    assert due_at(missed, "clock_hours", 24, CAL) == due


def test_clock_rule_defaults_to_twenty_four_hours():
    """Without ``hours`` the clock rule means 24 and the working rule 8."""
    assert due_at(kst(2026, 11, 18, 15), "clock_hours", calendar=CAL) == kst(2026, 11, 19, 15)
    assert due_at(kst(2026, 11, 18, 9), calendar=CAL) == kst(2026, 11, 18, 18)


def test_extra_working_day_counts_on_may_first():
    """An institution that works on 1 May lists it and the day counts again."""
    cal = WorkingCalendar(extra_working_days=["2026-05-01"])
    assert due_at(kst(2026, 4, 30, 13), calendar=cal) == kst(2026, 5, 1, 12)


def test_local_holiday_at_year_end_is_skipped():
    """A local holiday on 31 Dec, New Year's Day and the weekend all push the due time on."""
    cal = WorkingCalendar(extra_holidays=["2026-12-31"])
    assert due_at(kst(2026, 12, 30, 15), calendar=cal) == kst(2027, 1, 4, 15)


def test_due_at_accepts_epoch_naive_local_and_other_zones():
    """An epoch float, a naive (Seoul) time and a UTC time of the same moment give one due time."""
    want = kst(2026, 11, 19, 15)
    assert due_at(kst(2026, 11, 18, 15).timestamp(), calendar=CAL) == want
    assert due_at(datetime(2026, 11, 18, 15), calendar=CAL) == want
    assert due_at(datetime(2026, 11, 18, 6, tzinfo=timezone.utc), calendar=CAL) == want


def test_due_time_is_given_in_the_calendar_zone():
    """The result carries the Seoul offset, for reports."""
    assert due_at(kst(2026, 11, 18, 15), calendar=CAL).utcoffset().total_seconds() == 9 * HOUR


def test_other_office_hours_change_the_due_time():
    """A centre open 08:00-20:00 without a lunch break gets its 8 hours sooner."""
    cal = WorkingCalendar(office_hours=[(time(8), time(20))])
    assert due_at(kst(2026, 11, 18, 15), calendar=cal) == kst(2026, 11, 19, 11)


# --- counting working time -------------------------------------------------------------------

def test_working_seconds_between_skips_lunch():
    """11:00 to 14:00 on a weekday is 2 working hours."""
    assert CAL.working_seconds_between(kst(2026, 11, 18, 11), kst(2026, 11, 18, 14)) == 2 * HOUR


def test_working_seconds_between_skips_the_weekend():
    """Friday 17:00 to Monday 10:00 is 2 working hours."""
    assert CAL.working_seconds_between(kst(2026, 11, 20, 17), kst(2026, 11, 23, 10)) == 2 * HOUR


def test_working_seconds_between_skips_chuseok():
    """Wednesday before Chuseok 15:00 to the Monday after 15:00 is 8 working hours."""
    assert CAL.working_seconds_between(kst(2026, 9, 23, 15), kst(2026, 9, 28, 15)) == 8 * HOUR


def test_working_seconds_between_is_negative_backwards():
    """Swapping the ends swaps the sign."""
    assert CAL.working_seconds_between(kst(2026, 11, 18, 14), kst(2026, 11, 18, 11)) == -2 * HOUR


def test_working_seconds_between_whole_day_counts_nights():
    """With the clock rule a weekday evening counts, a Saturday does not."""
    assert CAL.working_seconds_between(kst(2026, 11, 20, 20), kst(2026, 11, 21, 20), whole_day=True) == 4 * HOUR


@pytest.mark.parametrize("missed, due", WORKING)
def test_due_time_is_exactly_eight_working_hours_after_counting_starts(missed, due):
    """Counting back from each due time gives the 8 hours that made it."""
    assert CAL.working_seconds_between(missed, due) == 8 * HOUR


def test_next_working_moment_after_lunch_and_on_a_holiday():
    """A miss at lunch counts from 13:00; one on Chuseok from the next working morning."""
    assert CAL.next_working_moment(kst(2026, 11, 18, 12, 15)) == kst(2026, 11, 18, 13)
    assert CAL.next_working_moment(kst(2026, 9, 24, 10)) == kst(2026, 9, 28, 9)


# --- configuration mistakes and the report's wording -----------------------------------------

def test_unknown_rule_is_a_config_error():
    """Only working_hours and clock_hours exist."""
    with pytest.raises(ConfigError):
        due_at(kst(2026, 11, 18, 15), "calendar_days", calendar=CAL)


@pytest.mark.parametrize("hours", [[(time(12), time(9))], [(time(9), time(13)), (time(12), time(18))], []])
def test_bad_office_hours_are_a_config_error(hours):
    """Backwards, overlapping or missing office hours are refused."""
    with pytest.raises(ConfigError):
        WorkingCalendar(office_hours=hours)


def test_bad_holiday_date_is_a_config_error():
    """An override that is not a date is refused when the calendar is built."""
    with pytest.raises(ConfigError):
        WorkingCalendar(extra_holidays=["31.12.2026"])


def test_rule_description_names_hours_and_holidays():
    """The report states which rule was applied."""
    assert describe_rule("working_hours", 8, CAL) == "within 8 working hours (09:00-12:00, 13:00-18:00, KR holidays)"
    assert describe_rule("clock_hours", 24, CAL) == "within 24 clock hours of working days (KR holidays)"


@pytest.mark.parametrize("rule,hours", [("working_hours", 8.0), ("clock_hours", 24.0), ("working_hours", 0.0),
                                        ("working_hours", 40.0)])
def test_due_times_of_many_misses_at_once_are_those_of_one_at_a_time(rule, hours):
    # moments all over two months (Chuseok, weekends, nights, lunch), the windows' own edges and
    # sub-microsecond fractions: the vectorised count must give the scalar one's every value
    import random

    from callmon.metrics.callbacks import CallbackPolicy

    policy = CallbackPolicy(rule=rule, hours=hours,
                            calendar=WorkingCalendar(extra_holidays=["2026-10-02"], extra_working_days=["2026-10-10"]))
    rnd = random.Random(7)
    start = kst(2026, 9, 20).timestamp()
    moments = [start + rnd.random() * 86400 * 60 for _ in range(3000)]
    moments += [kst(2026, 10, d, h).timestamp() for d in range(1, 31) for h in (0, 9, 12, 13, 18, 23)]
    moments += [start + 0.1234567, start + 0.0000005, start + 0.0000015]
    assert policy.due_at_many(moments).tolist() == [policy.due_at(m) for m in moments]
    assert policy.due_at_many([]).tolist() == []
