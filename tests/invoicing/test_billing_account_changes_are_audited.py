"""``PUT /api/v1/billing/account`` is audited as ``billing_account_set`` with each field it
changed, ``from`` and ``to`` (as ``tenant_changed`` has them): who re-routed the tenant's
invoices to another mailbox, or changed its tax terms, and what they were before."""

import pytest

from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import ACCOUNT

pytestmark = pytest.mark.django_db

URL = "/api/v1/billing/account"


def _events() -> list[dict]:
    return [
        e.details for e in AuditEvent.objects.filter(action="billing_account_set").order_by("id")
    ]


def test_a_changed_account_records_each_changed_field_from_and_to(member_client):
    client, _ = member_client("billing")
    assert client.put(URL, ACCOUNT, format="json").status_code == 201
    changed = {
        **ACCOUNT,
        "invoice_emails": ["someone@elsewhere.example"],
        "tax_rate": "0.00",
        "reverse_charge": True,
    }
    response = client.put(URL, changed, format="json")
    assert response.status_code == 200, response.json()

    first, second = _events()
    assert (first["created"], first["fields"]["invoice_emails"]) == (
        True,
        {"from": None, "to": ["ap@acme.example"]},
    )
    assert first["fields"]["tax_rate"] == {"from": None, "to": "19.00"}
    assert second == {
        "created": False,
        "country": "DE",
        "currency": "EUR",
        "fields": {
            "invoice_emails": {"from": ["ap@acme.example"], "to": ["someone@elsewhere.example"]},
            "tax_rate": {"from": "19.00", "to": "0.00"},
            "reverse_charge": {"from": False, "to": True},
        },
    }


def test_the_same_account_put_again_records_no_field(member_client):
    """The same values, written otherwise (a rate without its decimals, an upper-case
    country): nothing changed, so no field is listed."""
    client, _ = member_client("billing")
    assert client.put(URL, ACCOUNT, format="json").status_code == 201
    again = client.put(URL, {**ACCOUNT, "tax_rate": "19", "country": "DE"}, format="json")
    assert again.status_code == 200, again.json()
    assert _events()[-1]["fields"] == {}
