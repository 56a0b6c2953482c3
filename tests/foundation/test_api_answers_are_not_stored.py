"""The API's answers are never stored (``Cache-Control: no-store``), by a browser nor by a
proxy, unless an operation says how it may be (the manifest's schema, public for an hour): a
tenant's usage CSV, an invoice's PDF, a paid package, the tokens a sign-in answers. The files
were sent without Cache-Control, where the portal's CSV of the same sales and the API's payout
statement were ``no-store`` ("never cached (money, customers)", ``billing.csv_stream``)."""

import pytest

from billing import invoicing
from billing.models import Invoice
from tests.commerce.conftest import agent, buy_free, certificate, make_plan, published  # noqa: F401
from tests.factories import MembershipFactory
from tests.invoicing.conftest import JAN, make_customer, vendor_tenant  # noqa: F401

pytestmark = pytest.mark.django_db


def assert_not_stored(response) -> None:
    assert "no-store" in response.get("Cache-Control", ""), dict(response.items())


def test_a_tenants_usage_csv_is_not_stored(member_client):
    client, _ = member_client("admin")
    response = client.get("/api/v1/usage", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert_not_stored(response)


def test_a_vendors_usage_csv_naming_its_customers_is_not_stored(vendor):
    response = vendor.client.get("/api/v1/vendor/usage?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert_not_stored(response)


def test_an_invoice_pdf_is_not_stored(member_client, make_customer):  # noqa: F811
    client, membership = member_client("billing")
    customer = make_customer(membership.tenant)
    customer.account()
    customer.ran(customer.metered(since=JAN), JAN, 3)
    (pk,) = invoicing.close_billing_period(JAN).created
    invoice = invoicing.finalize_invoice(Invoice.objects.get(pk=pk))
    response = client.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert_not_stored(response)


@pytest.mark.parametrize("what", ["download", "bundle"])
def test_a_paid_package_is_not_stored(member_client, agent, make_plan, certificate, what):  # noqa: F811
    client, _ = member_client("admin")
    buy_free(client, agent, make_plan)
    version = agent.versions.get()
    url = f"/api/v1/agents/{agent.pk}/versions/{version.version}/{what}"
    response = client.get(url)
    assert response.status_code == 200
    assert_not_stored(response)
    if what == "download":  # and its revalidation, answered as the file would be
        again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
        assert_not_stored(again)


def test_a_tenants_json_and_its_refusals_are_not_stored(member_client):
    client, _ = member_client("admin")
    for response in (client.get("/api/v1/orders"), client.get("/api/v1/orders/999999")):
        assert response.status_code in (200, 404)
        assert_not_stored(response)


def test_the_tokens_a_sign_in_answers_are_not_stored(api):
    user = MembershipFactory().user
    user.set_password("a-long-password-1")
    user.save()
    response = api.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": "a-long-password-1"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert "access" in response.json()
    assert_not_stored(response)


def test_an_answer_that_says_how_it_may_be_stored_keeps_it(api):
    """The package manifest's JSON Schema, the same for everyone: public for an hour."""
    response = api.get("/api/v1/schemas/manifest.json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=3600"
