"""A 403 of the admin is audited as ``permission_denied``, as the API's and the portal's are:
the staff user, ``METHOD path``, the admin view refused and what the refusal said."""

import pytest

from edgeplug.audit.models import AuditEvent
from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db


def _denials():
    return list(AuditEvent.objects.filter(action="permission_denied"))


def _reviewer_refused(admin_session, path: str) -> AuditEvent:
    """A reviewer's GET of ``path``, refused (403): its one denial, naming the reviewer and
    the request."""
    client, user = admin_session("reviewers")
    assert client.get(path).status_code == 403
    [event] = _denials()
    assert (event.actor, event.target) == (user, f"GET {path}")
    return event


def test_a_staff_user_outside_reviewers_refused_a_decision_is_audited(admin_session):
    client, user = admin_session("finance")
    run = CertificationRunFactory()
    url = f"/admin/certification/certificationrun/{run.pk}/decide/"
    response = client.post(url, {"decision": "approve", "reason": "looks fine"})
    assert response.status_code == 403
    [event] = _denials()
    assert event.actor == user
    assert event.target == f"POST {url}"
    assert event.details["view"].startswith("admin:")
    # The action's own refusal, as every door answers it (it was a bare permission_denied).
    sentence = "Only reviewers decide on certification runs and workflow packages."
    assert (event.details["code"], event.details["detail"]) == ("not_a_reviewer", sentence)
    assert sentence in response.content.decode()
    run.refresh_from_db()
    assert run.review_status == "pending"


@pytest.mark.parametrize("model", ["certification/certificationrun", "marketplace/workflowpackage"])
def test_a_decision_refused_to_others_says_nothing_of_which_ids_exist(admin_session, model):
    """Refused before the lookup: an id that does not exist was a 404, one that does a 403
    (found by a probe), as the API refuses the role before looking anything up."""
    client, _ = admin_session("finance")
    url = f"/admin/{model}/999999/decide/"
    response = client.post(url, {"decision": "approve", "reason": "looks fine"})
    assert response.status_code == 403
    [event] = _denials()
    assert event.details["code"] == "not_a_reviewer"


def test_a_finance_page_refused_to_a_reviewer_is_audited_with_its_reason(admin_session):
    event = _reviewer_refused(admin_session, "/admin/billing/finance/exports/")
    assert event.details["detail"] == "Finance pages are for the finance group."


def test_a_page_the_admin_itself_refuses_is_audited(admin_session):
    event = _reviewer_refused(admin_session, "/admin/accounts/user/add/")
    assert event.details["view"] == "admin:accounts_user_add"


def test_an_allowed_admin_page_writes_no_denial(admin_session):
    client, _ = admin_session("finance")
    assert client.get("/admin/billing/finance/exports/").status_code == 200
    assert _denials() == []
