"""The month close must look back as far as metering accepts late events: with
``USAGE_LATE_DAYS=90`` and the default two months, an event of 15 January accepted on 10 April
was stored and never billed. Such settings now refuse to start, saying what to set."""

import pytest

from tests.processes import python_with_settings


@pytest.mark.parametrize(
    ("late_days", "months", "starts"),
    [("35", "2", True), ("35", "1", False), ("90", "2", False), ("90", "4", True)],
)
def test_the_close_must_reach_every_month_metering_still_accepts(
    tmp_path, late_days, months, starts
):
    started = python_with_settings(
        tmp_path,
        "import django; django.setup()",
        USAGE_LATE_DAYS=late_days,
        BILLING_LATE_USAGE_MONTHS=months,
    )
    assert (started.returncode == 0) is starts, started.stderr[-2000:]
    if not starts:
        assert "BILLING_LATE_USAGE_MONTHS must be at least" in started.stderr
