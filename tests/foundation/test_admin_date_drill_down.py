"""Every admin list with a date hierarchy (orders, money to give back, runs, advisories; the
audit log had one) reads a drill-down's year, month and day it cannot show as it reads a year no
date holds: left out, said as an ignored filter. A month or day past a C long
(``?created_at__year=2026&created_at__month=99999999999999999999``) and a drill-down to the
last year, month or day a date holds (``?created_at__year=9999``) were 500s: Django reads the
drill-down up to the next year's (month's, day's) start, and none follows 9999-12-31."""

import pytest
from django.contrib import admin

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
LAST_DAY = "ends on 9999-12-31, the last date there is: the list reads it up to the day after."


def _date_hierarchies():
    """(changelist URL, its date hierarchy) of every registered admin with one."""
    import edgeplug.urls  # noqa: F401  (the admin site, every app's admin registered)

    return [
        (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", model_admin.date_hierarchy)
        for model, model_admin in admin.site._registry.items()
        if model_admin.date_hierarchy
    ]


@pytest.mark.parametrize(
    ("drill_down", "why"),
    [
        ({"year": "2026", "month": HUGE}, f"{HUGE!r} is no month from 1 to 12."),
        ({"year": "2026", "month": "13"}, "'13' is no month from 1 to 12."),
        ({"month": HUGE}, f"{HUGE!r} is no month from 1 to 12."),
        ({"year": "2026", "month": "2", "day": HUGE}, f"{HUGE!r} is no day from 1 to 31."),
        ({"year": "2026", "month": "2", "day": "0"}, "'0' is no day from 1 to 31."),
        ({"year": "9999"}, f"'9999' {LAST_DAY}"),
        ({"year": "9999", "month": "12"}, f"'9999-12' {LAST_DAY}"),
        ({"year": "9999", "month": "12", "day": "31"}, f"'9999-12-31' {LAST_DAY}"),
    ],
)
def test_a_drill_down_no_list_can_show_is_ignored(admin_session, drill_down, why):
    client, _ = admin_session(is_superuser=True)
    lists = _date_hierarchies()
    assert len(lists) >= 4
    for url, field in lists:
        title = field.replace("_", " ").capitalize()
        page = client.get(url, {f"{field}__{part}": value for part, value in drill_down.items()})
        assert page.status_code == 200, (url, drill_down, page.status_code)
        said = [str(message) for message in page.context["messages"]]
        assert said == [f"{title} filter ignored: {why}"], (url, said)


@pytest.mark.parametrize(
    "drill_down",
    [
        {"year": "9998"},
        {"year": "9999", "month": "11"},
        {"year": "9999", "month": "12", "day": "30"},
        {"year": "9999", "day": "31"},  # January 31st
        {"year": "1", "month": "1", "day": "1"},
    ],
)
def test_a_drill_down_up_to_the_last_date_is_shown(admin_session, drill_down):
    client, _ = admin_session(is_superuser=True)
    for url, field in _date_hierarchies():
        page = client.get(url, {f"{field}__{part}": value for part, value in drill_down.items()})
        assert page.status_code == 200, (url, drill_down, page.status_code)
        assert not list(page.context["messages"]), url


def test_a_reviewer_drilling_past_the_last_date_sees_the_runs(admin_session):
    """The reviewer's way in: the runs list, as the probe found it."""
    client, _ = admin_session("reviewers")
    page = client.get("/admin/certification/certificationrun/", {"created_at__year": "9999"})
    assert page.status_code == 200
    said = [str(message) for message in page.context["messages"]]
    assert said == [f"Created at filter ignored: '9999' {LAST_DAY}"]
