"""Calendar periods the program is configured in."""

from datetime import timedelta

AVERAGE_MONTH_DAYS = 30.4375  # 365.25 / 12: "12 months" is a year on average, leap years included


def months(n: int) -> timedelta:
    return timedelta(days=round(AVERAGE_MONTH_DAYS * n))
