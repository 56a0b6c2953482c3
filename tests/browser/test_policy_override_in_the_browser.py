"""A platform admin writes a level's security-policy override in the admin: text that is not
one JSON document as a person means it (a setting named twice, whose last copy would have
turned the level's gate off) is refused at the field, kept to be corrected, and nothing is
saved; corrected, it is saved."""

import pytest

from certification.models import SecurityPolicyOverride

pytestmark = pytest.mark.browser

TWICE = '{"fail_on_severity": "critical", "fail_on_severity": null}'


def test_an_override_naming_a_setting_twice_is_refused_then_saved_corrected(
    journey, staff_user, transactional_db
):
    journey.sign_in(staff_user("platform-admins"))
    page = journey.page
    journey.click(page.get_by_role("link", name="Security policy overrides").first)
    journey.click(page.get_by_role("link", name="Add security policy override"))
    page.get_by_label("Level:").select_option("standard")
    page.get_by_label("Overrides:").fill(TWICE)
    journey.click(page.get_by_role("button", name="Save", exact=True))

    assert "Please correct the error below." in page.locator(".errornote").inner_text()
    assert "appears twice" in page.locator(".field-overrides .errorlist").inner_text()
    assert page.get_by_label("Overrides:").input_value() == TWICE  # kept to be corrected
    assert not SecurityPolicyOverride.objects.exists()

    page.get_by_label("Overrides:").fill('{"fail_on_severity": "critical"}')
    journey.click(page.get_by_role("button", name="Save", exact=True))

    assert "was added successfully" in page.locator(".messagelist").inner_text()
    row = SecurityPolicyOverride.objects.get()
    assert (row.level, row.overrides) == ("standard", {"fail_on_severity": "critical"})
