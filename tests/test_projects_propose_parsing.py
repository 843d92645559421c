"""What the proposing dialog reads from typed answers: sums of roubles and dates."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.projects.drafts import DraftError, parse_budget, parse_date


@pytest.mark.parametrize(
    ("typed", "roubles"),
    [
        ("150000", 150_000),
        ("150 000", 150_000),
        ("150\u00a0000 руб", 150_000),
        ("150000 руб.", 150_000),
        ("1 500 000 ₽", 1_500_000),
        ("2000 рублей", 2_000),
        ("700р", 700),
        ("5000 RUB", 5_000),
    ],
)
def test_sums_people_type_are_read(typed, roubles):
    assert parse_budget(typed) == roubles


@pytest.mark.parametrize(
    "typed", ["много", "", "-5", "0", "1,5 млн", "12.5", "9" * 13, "💰", "150 000 долларов"]
)
def test_nonsense_is_refused_with_the_budget_hint(typed):
    with pytest.raises(DraftError) as refused:
        parse_budget(typed)
    assert refused.value.key == "projects-propose-budget-bad"


def test_dates_are_day_month_year():
    assert parse_date("01.03.2027") == date(2027, 3, 1)
    assert parse_date(" 1.3.2027 ") == date(2027, 3, 1)
    assert parse_date("29/02/2028") == date(2028, 2, 29)
    for typed in ("31.02.2027", "2027-03-01", "завтра", "01.03.27", "00.01.2027"):
        with pytest.raises(DraftError) as refused:
            parse_date(typed)
        assert refused.value.key == "projects-propose-date-bad"
