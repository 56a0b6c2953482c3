"""A reviewer works the workflow packages in the admin in Chromium, as certification runs:
finds the pending ones, reads a package (its content as indented JSON, the vendor's text
escaped), approves one and rejects another with a reason; refusals are explained over the
decision form, the reason kept. Finance sees no package. Before, packages had no admin page:
only the API decided them."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace.models import WorkflowPackage
from tests.factories import (
    AgentVersionFactory,
    MembershipFactory,
    VendorTenantFactory,
    WorkflowPackageFactory,
)

pytestmark = pytest.mark.browser

WPKS = "/admin/marketplace/workflowpackage/"
REASON_LABEL = "Reason (required, shown to the vendor):"
NOTES = "<script>alert(1)</script> & <b>not bold</b>"


def _public_version():
    """A certified, approved version of Acme Robotics' agent ``pump``."""
    tenant = VendorTenantFactory(slug="acme-robotics", name="Acme Robotics")
    return AgentVersionFactory(public=True, agent__tenant=tenant, agent__name="pump")


def _package(name: str, version=None, **fields) -> WorkflowPackage:
    """A pending package of ``version``'s vendor (else a new public version's), its one step
    that version of its agent, its content holding the vendor's text beside the steps."""
    version = version or _public_version()
    step = {"agent": f"{version.tenant.slug}/{version.agent.name}", "version": version.version}
    content = {"steps": [step], "notes": NOTES}
    return WorkflowPackageFactory(tenant=version.tenant, name=name, content=content, **fields)


def _decide(journey, button: str, reason: str) -> None:
    page = journey.page
    page.get_by_label(REASON_LABEL).fill(reason)
    journey.click(page.get_by_role("button", name=button))


def _readonly(page, field: str) -> str:
    return page.locator(f".field-{field} .readonly").inner_text()


def test_reviewer_approves_one_package_and_rejects_another(journey, staff_user):
    version = _public_version()
    bottling = _package("bottling-line", version)
    capping = _package("capping-line", version)
    # Decided, and the newest: the pending ones still come first.
    _package("labelling-line", version, status="approved", review_reason="fine")
    reviewer = staff_user("reviewers")
    journey.sign_in(reviewer)
    page = journey.page

    journey.click(page.get_by_role("link", name="Workflow packages").first)
    statuses = page.locator("#result_list td.field-status").all_inner_texts()
    assert statuses == ["Pending", "Pending", "Approved"]
    journey.click(page.locator("#changelist-filter").get_by_role("link", name="Pending"))
    names = page.locator("#result_list td.field-name").all_inner_texts()
    assert sorted(names) == ["bottling-line", "capping-line"]
    journey.click(page.locator(f'#result_list a[href^="{WPKS}{bottling.pk}/change/"]'))

    assert _readonly(page, "name") == "bottling-line"
    assert _readonly(page, "version") == "1.0.0"
    assert _readonly(page, "vendor") == "acme-robotics"
    assert _readonly(page, "digest") == bottling.digest
    content = page.locator(".field-document pre")
    assert f'  "notes": "{NOTES}"' in content.inner_text()  # indented, shown as typed
    assert page.locator(".field-document script, .field-document b").count() == 0
    _decide(journey, "Approve", "Every step is a certified agent; order is sound.")

    assert page.url.startswith(f"{journey.base_url}{WPKS}{bottling.pk}/change/")
    message = page.locator(".messagelist .success").inner_text()
    assert message == "Workflow package bottling-line@1.0.0 approved."
    assert _readonly(page, "status") == "Approved"
    assert page.locator("#decision").count() == 0
    bottling.refresh_from_db()
    assert (bottling.status, bottling.reviewer, bottling.review_reason) == (
        "approved",
        reviewer,
        "Every step is a certified agent; order is sound.",
    )
    assert AuditEvent.objects.get(action="wpk_approved").actor == reviewer

    journey.goto(WPKS)
    page.locator("#searchbar").fill("capping")
    journey.click(page.get_by_role("button", name="Search"))
    assert page.locator("#result_list td.field-name").all_inner_texts() == ["capping-line"]
    journey.click(page.locator(f'#result_list a[href^="{WPKS}{capping.pk}/change/"]'))
    _decide(journey, "Reject", "The capper runs before the filler.")

    message = page.locator(".messagelist .success").inner_text()
    assert message == "Workflow package capping-line@1.0.0 rejected."
    assert _readonly(page, "status") == "Rejected"
    assert _readonly(page, "review_reason") == "The capper runs before the filler."
    capping.refresh_from_db()
    assert (capping.status, capping.reviewer) == ("rejected", reviewer)


def _own_tenant(reviewer):
    package = _package("bottling-line")
    MembershipFactory(user=reviewer, tenant=package.tenant, role="developer")
    return package, "You cannot review a package of a tenant you belong to."


def _blank(reviewer):
    return _package("bottling-line"), "A decision needs a reason."


def _not_certified(reviewer):
    version = AgentVersionFactory(certified=True)  # certified, not yet approved
    message = "Every referenced agent version must be certified and approved first; not yet:"
    return _package("bottling-line", version), message


@pytest.mark.parametrize(
    ("setup", "reason"),
    [(_blank, "   "), (_not_certified, "Steps look right.\nApproved.")],
    ids=["blank-reason", "agent-not-certified"],
)
def test_a_refused_decision_is_explained_and_keeps_the_reason(journey, staff_user, setup, reason):
    page = journey.page
    reviewer = staff_user("reviewers")
    package, message = setup(reviewer)
    journey.sign_in(reviewer)
    journey.goto(f"{WPKS}{package.pk}/change/")

    _decide(journey, "Approve", reason)

    assert page.url.startswith(f"{journey.base_url}{WPKS}{package.pk}/change/")
    assert message in page.locator(".messagelist .error").inner_text()
    assert page.get_by_label(REASON_LABEL).input_value() == reason
    assert _readonly(page, "status") == "Pending"
    package.refresh_from_db()
    assert (package.status, package.reviewer, package.review_reason) == ("pending", None, "")
    journey.goto(f"{WPKS}{package.pk}/change/")  # kept for the page that showed the refusal
    assert page.get_by_label(REASON_LABEL).input_value() == ""


def test_a_package_of_the_reviewers_own_tenant_says_why_instead_of_a_form(journey, staff_user):
    reviewer = staff_user("reviewers")
    package, message = _own_tenant(reviewer)
    journey.sign_in(reviewer)
    journey.goto(f"{WPKS}{package.pk}/change/")

    refusal = journey.page.locator("#decide-refusal").inner_text()
    assert refusal == f"This workflow package cannot be decided: {message}"
    assert journey.page.locator("#decision, #id_reason").count() == 0


def test_own_tenant_refusal_is_audited(journey, staff_user):
    reviewer = staff_user("reviewers")
    package = _package("bottling-line")
    journey.sign_in(reviewer)
    journey.goto(f"{WPKS}{package.pk}/change/")
    # Made a member of the vendor while the page was open: refused on submit.
    MembershipFactory(user=reviewer, tenant=package.tenant, role="developer")
    _decide(journey, "Reject", "Not mine to judge.")
    assert "You cannot review a package of a tenant you belong to." in (
        journey.page.locator(".messagelist .error").inner_text()
    )

    [denial] = AuditEvent.objects.filter(action="permission_denied")
    assert (denial.actor, denial.details["code"]) == (reviewer, "own_tenant_review")
    assert denial.target == f"POST {WPKS}{package.pk}/decide/"


def test_finance_neither_sees_nor_decides_packages(journey, staff_user):
    package = _package("bottling-line")
    journey.sign_in(staff_user("finance"))
    page = journey.page
    assert page.get_by_role("link", name="Workflow packages").count() == 0
    for path in (WPKS, f"{WPKS}{package.pk}/change/"):
        journey.expect_status(403, path)
        assert journey.goto(path).status == 403
    package.refresh_from_db()
    assert package.status == "pending"
