"""A plan nobody holds yet is edited in place, its old terms overwritten: its
``price_plan_edited`` event keeps each changed field's ``from`` and ``to`` (as
``tenant_changed`` does), so the audit log still says what the plan cost before."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace.models import PricePlan

pytestmark = pytest.mark.django_db


def test_a_plan_edited_through_the_api_records_its_old_and_new_price(vendor, agent, make_plan):
    plan = make_plan("one_time", currency="USD", amount=1000)
    url = f"/api/v1/vendor/agents/{agent.pk}/plans/{plan.pk}"
    response = vendor.client.patch(url, {"amount": 99900, "name": "Renamed"}, format="json")
    assert response.status_code == 200, response.json()
    plan.refresh_from_db()
    assert (plan.version, plan.amount) == (1, 99900)  # in place: the row keeps only the new

    event = AuditEvent.objects.get(action="price_plan_edited")
    assert event.details == {
        "plan_id": plan.pk,
        "kind": "one_time",
        "fields": {
            "name": {"from": "one_time plan", "to": "Renamed"},
            "amount": {"from": 1000, "to": 99900},
        },
    }


def test_a_metered_plans_new_terms_are_recorded_with_the_old(vendor, agent, make_plan):
    old = {"scheme": "per_unit", "unit_amount": 50}
    plan = make_plan("metered", currency="USD", terms=old)
    url = f"/api/v1/vendor/agents/{agent.pk}/plans/{plan.pk}"
    new = {"scheme": "per_unit", "unit_amount": 75}
    response = vendor.client.patch(url, {"terms": new}, format="json")
    assert response.status_code == 200, response.json()

    fields = AuditEvent.objects.get(action="price_plan_edited").details["fields"]
    assert list(fields) == ["terms"]
    assert (fields["terms"]["from"]["unit_amount"], fields["terms"]["to"]["unit_amount"]) == (
        50,
        75,
    )
    assert PricePlan.objects.get().terms == fields["terms"]["to"]
