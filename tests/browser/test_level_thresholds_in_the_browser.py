"""A platform admin tunes a level's thresholds in the admin: a value within its bounds is
saved and audited (``level_thresholds_changed``); one outside them is refused on the page,
with the reason, and nothing changes."""

import pytest

from certification.models import LevelThresholds
from certification.pipeline.levels import thresholds_for
from edgeplug.audit.models import AuditEvent

pytestmark = pytest.mark.browser

LATENCY = "Latency gate us:"


def _open_standard_thresholds(journey) -> None:
    page = journey.page
    journey.click(page.get_by_role("link", name="Level thresholds").first)
    journey.click(page.get_by_role("link", name="Standard", exact=True))
    assert page.get_by_role("heading", name="standard thresholds").count() == 1


@pytest.fixture
def standard(transactional_db):
    """The standard level's row, overriding the latency gate only."""
    return LevelThresholds.objects.create(level="standard", latency_gate_us=400)


def test_a_platform_admin_lowers_the_latency_gate_and_it_is_audited(journey, staff_user, standard):
    admin = staff_user("platform-admins")
    journey.sign_in(admin)
    page = journey.page

    _open_standard_thresholds(journey)
    assert page.get_by_role("link", name="Delete").count() == 0  # no delete grant
    assert page.get_by_label(LATENCY).input_value() == "400"
    page.get_by_label(LATENCY).fill("300")
    journey.click(page.get_by_role("button", name="Save", exact=True))

    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    assert page.locator("#result_list td.field-latency_gate_us").inner_text() == "300"
    assert thresholds_for("standard").latency_gate_us == 300
    [event] = AuditEvent.objects.filter(action="level_thresholds_changed")
    assert (event.actor, event.target) == (admin, "standard thresholds")
    assert event.details["level"] == "standard"
    assert event.details["before"]["latency_gate_us"] == 400
    assert event.details["after"]["latency_gate_us"] == 300


@pytest.mark.parametrize(
    ("value", "reason"), [("0", "Must be at least 1."), ("501", "at most 500")]
)
def test_a_latency_gate_out_of_bounds_is_refused_on_the_page(
    journey, staff_user, standard, value, reason
):
    journey.sign_in(staff_user("platform-admins"))
    page = journey.page

    _open_standard_thresholds(journey)
    page.get_by_label(LATENCY).fill(value)
    journey.click(page.get_by_role("button", name="Save", exact=True))

    assert "Please correct the error below." in page.locator(".errornote").inner_text()
    assert reason in page.locator(".field-latency_gate_us .errorlist").inner_text()
    assert page.get_by_label(LATENCY).input_value() == value  # kept to be corrected
    standard.refresh_from_db()
    assert standard.latency_gate_us == 400
    assert not AuditEvent.objects.filter(action="level_thresholds_changed").exists()
