"""A reviewer searches the certification runs for a version as the list shows it, in
Chromium: ``vendor/agent@1.2.0`` (the CLI and the portal name it so too) or ``agent@1.2.0``.
The search matched one word a field, so the name as shown found nothing (found by a review)."""

import pytest

from tests.browser.test_reviewer_decides_in_the_browser import RUNS
from tests.factories import AgentVersionFactory, CertificationRunFactory

pytestmark = pytest.mark.browser


def _search(journey, text: str) -> list[str]:
    page = journey.page
    page.locator("#searchbar").fill(text)
    journey.click(page.get_by_role("button", name="Search"))
    return page.locator("#result_list td.field-version").all_inner_texts()


def test_a_run_is_found_by_its_versions_name_as_the_list_shows_it(journey, staff_user):
    wanted = CertificationRunFactory(version=AgentVersionFactory(version="1.0.100"))
    other = AgentVersionFactory(agent=wanted.version.agent, version="1.0.10")
    CertificationRunFactory(version=other)
    CertificationRunFactory()  # another agent's
    journey.sign_in(staff_user("reviewers"))
    journey.goto(RUNS)
    shown = str(wanted.version)

    assert _search(journey, shown) == [shown]
    assert _search(journey, shown.split("/", 1)[1]) == [shown]  # without the vendor
    assert _search(journey, f"someone-else/{shown.split('/', 1)[1]}") == []
