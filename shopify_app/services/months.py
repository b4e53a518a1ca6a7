"""Calendar months, as the law counts them ("one month", "two further months", "13 months")."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` moved by ``months`` calendar months (negative goes back), the day clamped to the month's end.

    31 January + 1 month is 28 (or 29) February, as a deadline "one month after" is read.
    """
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
