"""Tenant admins and billing members read their invoices over the API: list (paginated,
filtered by period and status), detail with lines and breakdowns, the live upcoming invoice,
and the billing account. Other roles are refused; other tenants' invoices are 404."""

from datetime import timedelta

import pytest
from django.utils import timezone
from jsonschema import Draft7Validator

from billing import invoicing
from billing.errors import BillingAccountMissing
from billing.models import BillingAccount, Invoice
from billing.periods import month_start
from edgeplug.audit.models import AuditEvent
from tests.invoicing.conftest import ACCOUNT, FEB, JAN, MAR
from tests.openapi_conformance import assert_documented


@pytest.fixture
def billing_member(member_client, make_customer):
    client, membership = member_client("billing")
    return client, make_customer(membership.tenant)


def issue(customer, start=JAN, hours=3):
    customer.ran(customer.metered(since=start), start, hours)
    (pk,) = invoicing.close_billing_period(start).created
    return Invoice.objects.get(pk=pk)


def test_billing_member_sets_the_account_then_reads_invoices(billing_member):
    client, customer = billing_member
    put = client.put("/api/v1/billing/account", ACCOUNT, format="json")
    # The first PUT creates the account (it answered 200 as a replacement does).
    assert put.status_code == 201, put.json()
    assert_documented(put, "PUT /api/v1/billing/account")
    # Either case, as a plan's currency (lower case was refused: invalid_choice).
    assert (put.json()["country"], put.json()["currency"]) == ("DE", "EUR")
    again = client.put("/api/v1/billing/account", {**ACCOUNT, "city": "Bremen"}, format="json")
    assert (again.status_code, again.json()["city"]) == (200, "Bremen")
    assert_documented(again, "PUT /api/v1/billing/account")
    assert [
        event.details["created"]
        for event in AuditEvent.objects.filter(action="billing_account_set").order_by("id")
    ] == [True, False]
    invoice = invoicing.finalize_invoice(issue(customer))

    listed = client.get("/api/v1/invoices")
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 1
    assert body["results"][0]["number"] == invoice.number
    assert body["results"][0]["amount_due"] == invoice.total
    # As the schema publishes them (refunded_by is "" on an invoice: it was not a blank value).
    assert body["results"][0]["refunded_by"] == ""
    assert_documented(listed, "GET /api/v1/invoices")

    shown = client.get(f"/api/v1/invoices/{invoice.pk}")
    assert_documented(shown, "GET /api/v1/invoices/{id}")
    detail = shown.json()
    assert detail["buyer"]["legal_name"] == "Acme Pumps GmbH"
    assert [line["kind"] for line in detail["lines"]] == ["flat_fee", "usage"]
    assert detail["lines"][1]["breakdown"]["lines"][0]["amount"] == 300


def test_invalid_account_is_refused_with_a_code(billing_member):
    client, _ = billing_member
    bad = client.put("/api/v1/billing/account", {**ACCOUNT, "currency": "XXX"}, format="json")
    assert bad.status_code == 400 and "currency" in bad.json()["detail"]
    assert bad.json()["field"] == "currency"
    rate = client.put("/api/v1/billing/account", {**ACCOUNT, "tax_rate": "101"}, format="json")
    assert rate.status_code == 400 and "tax_rate" in rate.json()["detail"]
    # A rate not so written says how to write it ('does not match the required pattern').
    # A final newline too: Python's $ matched before it, where the published pattern refuses it.
    for written in ("-1", "19.999", "19.00\n"):
        bad = client.put("/api/v1/billing/account", {**ACCOUNT, "tax_rate": written}, format="json")
        assert bad.json()["detail"] == (
            "tax_rate: Write a percentage from 0 to under 100 with at most two decimals, "
            "e.g. 19.00."
        )
    unknown = client.put("/api/v1/billing/account", {**ACCOUNT, "iban": "x"}, format="json")
    assert unknown.status_code == 400
    assert not BillingAccount.objects.exists()
    missing = client.get("/api/v1/billing/account")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_an_account_not_set_yet_is_a_plain_404_and_billing_account_missing_only_the_409(
    billing_member,
):
    """``billing_account_missing`` means one status everywhere: the 409 of finalizing without
    an account. Reading the account before it is PUT is the 404 of any missing object."""
    client, customer = billing_member
    missing = client.get("/api/v1/billing/account")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert "PUT /api/v1/billing/account" in missing.json()["detail"]
    assert_documented(missing, "GET /api/v1/billing/account")

    with pytest.raises(BillingAccountMissing) as refused:
        invoicing.finalize_invoice(issue(customer))
    assert (refused.value.status, refused.value.as_dict()["code"]) == (
        409,
        "billing_account_missing",
    )


def test_list_filters_by_period_and_status_and_paginates(billing_member):
    client, customer = billing_member
    customer.account()
    jan = invoicing.finalize_invoice(issue(customer, JAN))
    issue(customer, FEB)
    assert [i["id"] for i in client.get("/api/v1/invoices?period=2026-01").json()["results"]] == [
        jan.pk
    ]
    drafts = client.get("/api/v1/invoices?status=draft").json()["results"]
    assert [i["period_start"][:7] for i in drafts] == ["2026-02"]
    assert client.get("/api/v1/invoices?period=2026-13").status_code == 400
    assert client.get("/api/v1/invoices?status=").status_code == 400
    page = client.get("/api/v1/invoices?page_size=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1


@pytest.mark.parametrize("padded", ["%202026-01", "2026-01%20", "%092026-01", "%20"])
def test_a_period_padded_with_whitespace_is_refused_as_every_other_door_refuses_it(
    billing_member, padded
):
    client, customer = billing_member
    jan = issue(customer, JAN)
    refused = client.get(f"/api/v1/invoices?period={padded}")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_period"
    exact = client.get("/api/v1/invoices?period=2026-01")
    assert [i["id"] for i in exact.json()["results"]] == [jan.pk]


def test_an_empty_period_is_refused_not_read_as_every_period(billing_member):
    """``?period=`` names no month: a 400 (as ``?status=`` is), not the whole list."""
    client, customer = billing_member
    issue(customer, JAN)
    refused = client.get("/api/v1/invoices?period=")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_period"
    assert "YYYY-MM" in refused.json()["detail"]
    assert client.get("/api/v1/invoices").json()["count"] == 1  # absent: every period


def test_other_tenants_invoice_is_404_and_not_listed(billing_member, make_customer):
    client, customer = billing_member
    other = issue(make_customer())
    mine = issue(customer)
    assert client.get(f"/api/v1/invoices/{other.pk}").status_code == 404
    assert [i["id"] for i in client.get("/api/v1/invoices").json()["results"]] == [mine.pk]


@pytest.mark.parametrize("role", ["developer", "operator"])
def test_other_roles_may_not_read_invoices(member_client, role):
    client, _ = member_client(role)
    for url in ("/api/v1/invoices", "/api/v1/invoices/upcoming", "/api/v1/billing/account"):
        assert client.get(url).status_code == 403, url


def test_upcoming_is_the_current_month_so_far_and_stores_nothing(billing_member):
    client, customer = billing_member
    start = month_start(timezone.now())
    ent = customer.metered(since=start)
    customer.ran(ent, start, 2)
    first = client.get("/api/v1/invoices/upcoming").json()
    assert first["period_start"][:10] == f"{start:%Y-%m-%d}"
    (eur,) = first["invoices"]
    assert eur["subtotal"] == 1000 + 200
    assert [line["kind"] for line in eur["lines"]] == ["flat_fee", "usage"]
    customer.ran(ent, start + timedelta(hours=5), 1)
    assert client.get("/api/v1/invoices/upcoming").json()["invoices"][0]["subtotal"] == 1300
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tax_rate": "100"}, "tax_rate"),
        ({"tax_rate": "100.00"}, "tax_rate"),
        ({"tax_rate": "101"}, "tax_rate"),
        ({"reverse_charge": True, "tax_id": ""}, "tax_id"),
        ({"reverse_charge": True, "tax_id": "   "}, "tax_id"),
        ({"reverse_charge": True, "tax_id": None}, "tax_id"),  # None: left out
        # Control characters: the Factur-X XML cannot carry them (the PDF was a 500).
        ({"legal_name": "Acme\x01 GmbH"}, "legal_name"),
        ({"city": "Ber\x0blin"}, "city"),
        # An invoice email's quoted local part, which Django's validator takes: the first
        # email is the buyer's address in the XML (the PDF was a 500, the email task failed
        # unrecorded and was queued again by the beat job, finance's pdfs.zip broke off).
        ({"invoice_emails": ['"ap\x01"@acme.example']}, "invoice_emails"),
        ({"invoice_emails": ["ap@acme.example", '"a\x7fp"@acme.example']}, "invoice_emails"),
        # EN 16931's lists (the XML's check failed, the PDF was a 500 once numbered): a
        # country that is none, Greece's VAT prefix as a country, a VAT number without its
        # country prefix or with it in lower case.
        ({"country": "zz"}, "country"),
        ({"country": "el"}, "country"),
        ({"tax_id": "123456789"}, "tax_id"),
        ({"tax_id": "de123456789"}, "tax_id"),
    ],
)
def test_an_account_its_invoices_could_not_be_issued_to_is_refused(billing_member, changes, field):
    """What the invoice document refuses (a rate of 100 %, reverse charge without the buyer's
    VAT number) is refused when the account is set, not once an invoice is numbered."""
    client, _ = billing_member
    body = {**ACCOUNT, **changes}
    body = {name: value for name, value in body.items() if value is not None}
    refused = client.put("/api/v1/billing/account", body, format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == "invalid_billing_account"
    assert refused.json()["detail"].startswith(f"{field}: "), refused.json()
    # And in ``field``, as the serializer's own refusals carry it in ``errors`` (it was only
    # in the text).
    assert refused.json()["field"] == field
    assert not BillingAccount.objects.exists()


def test_an_address_given_twice_in_another_case_is_kept_once(billing_member):
    """It was kept twice: every invoice went to the mailbox twice, counted twice to the 10."""
    client, _ = billing_member
    emails = ["ap@acme.example", "Finance@acme.example", "AP@acme.example", "finance@ACME.example"]
    put = client.put(
        "/api/v1/billing/account", {**ACCOUNT, "invoice_emails": emails}, format="json"
    )
    assert put.json()["invoice_emails"] == ["ap@acme.example", "Finance@acme.example"]


def test_an_address_given_again_with_its_domain_spelt_otherwise_is_kept_once(billing_member):
    """Punycode, fullwidth letters, a decomposed ü: the same mailbox, as an account's email
    is (``normalize_email``). Compared case-folded only, each spelling got every invoice."""
    client, _ = billing_member
    emails = [
        "ap@bücher.example",
        "ap@xn--bcher-kva.example",
        "AP@BU\u0308CHER.example",
        "ap@\uff41\uff43\uff4d\uff45.example",  # acme in fullwidth letters
        "ap@acme.example",
    ]
    put = client.put(
        "/api/v1/billing/account", {**ACCOUNT, "invoice_emails": emails}, format="json"
    )
    assert put.json()["invoice_emails"] == emails[:1] + emails[3:4]


def test_an_account_accepted_gets_invoices_whose_pdf_downloads(billing_member):
    """The highest rate, a Greek buyer (country GR, VAT number EL...) and a reverse charge
    with the buyer's VAT number are accepted, and the invoices issued to such accounts
    render (their XML passes EN 16931's checks)."""
    client, customer = billing_member
    for start, terms in (
        (JAN, {"tax_rate": "99.99"}),
        (FEB, {"country": "gr", "tax_id": "EL123456789"}),
        (MAR, {"reverse_charge": True, "tax_id": "DE123456789"}),
    ):
        put = client.put("/api/v1/billing/account", {**ACCOUNT, **terms}, format="json")
        assert put.status_code in (200, 201), put.json()
        invoice = invoicing.finalize_invoice(issue(customer, start))
        pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), terms
    assert invoice.reverse_charge and invoice.tax == 0
    # The rate the invoice declares, as its PDF, e-invoice and the finance CSV say: it was the
    # account's 19.00, beside a tax of 0.
    detail = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (detail["tax_rate"], detail["tax"], detail["reverse_charge"]) == ("0.00", 0, True)
    listed = client.get("/api/v1/invoices?period=" + invoice.period_start.strftime("%Y-%m"))
    assert listed.json()["results"][0]["tax_rate"] == "0.00"


@pytest.mark.parametrize("accept", ["application/pdf", "*/*", None])
def test_an_invoice_pdf_answers_the_media_type_it_is_asked_for(billing_member, accept):
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    pdf = client.get(f"/api/v1/invoices/{invoice.pk}/pdf", **headers)
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    assert_documented(pdf, "GET /api/v1/invoices/{id}/pdf")


@pytest.mark.parametrize(
    # q=0 is "not acceptable" (before: answered the PDF, its q ignored).
    "accept",
    ["application/json", "text/html", "application/pdf;q=0", "*/*, application/pdf;q=0"],
)
def test_an_invoice_pdf_asked_as_another_type_is_not_acceptable(billing_member, accept):
    """Before: 200 with the PDF's bytes whatever type was asked for."""
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    refused = client.get(f"/api/v1/invoices/{invoice.pk}/pdf", HTTP_ACCEPT=accept)
    assert (refused.status_code, refused["Content-Type"]) == (406, "application/json")
    assert refused.json()["code"] == "not_acceptable"


def test_invoice_pdf_refusals_are_json_when_a_pdf_was_asked_for(billing_member, make_customer):
    client, customer = billing_member
    other = make_customer()
    other.account()
    theirs = invoicing.finalize_invoice(issue(other))
    missing = client.get(f"/api/v1/invoices/{theirs.pk}/pdf", HTTP_ACCEPT="application/pdf")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")
    assert missing.json()["code"] == "not_found"
    draft = issue(customer)
    early = client.get(f"/api/v1/invoices/{draft.pk}/pdf", HTTP_ACCEPT="application/pdf")
    assert (early.status_code, early["Content-Type"]) == (409, "application/json")
    assert early.json()["code"] == "invoice_not_finalized"
    for refusal in (missing, early):
        assert_documented(refusal, "GET /api/v1/invoices/{id}/pdf")


def test_a_void_invoice_s_pdf_is_refused_with_its_reason(billing_member):
    """A void invoice asks nothing: its PDF (whose e-invoice said "due" with its total) is
    withdrawn, as its email is; the refusal does not quote finance's reason, which the
    tenant's API never shows."""
    client, customer = billing_member
    customer.account()
    invoice = invoicing.finalize_invoice(issue(customer))
    assert client.get(f"/api/v1/invoices/{invoice.pk}/pdf").status_code == 200
    invoicing.void_invoice(invoice, reason="issued twice")

    refused = client.get(f"/api/v1/invoices/{invoice.pk}/pdf", HTTP_ACCEPT="application/pdf")

    assert (refused.status_code, refused["Content-Type"]) == (409, "application/json")
    assert refused.json() == {
        "code": "invoice_void",
        "detail": f"Invoice {invoice.number} is void: nothing is due, and its document is "
        "withdrawn (not sent, downloaded or exported).",
    }
    assert_documented(refused, "GET /api/v1/invoices/{id}/pdf")
    body = client.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert (body["status"], body["amount_remaining"]) == ("void", 0)


def test_the_schema_publishes_what_the_account_accepts(billing_member):
    """The OpenAPI schema's account body (tax_rate pattern, reverse charge needing a tax_id,
    EN 16931's countries and VAT prefixes) accepts exactly what the API accepts, so clients
    and schemathesis know the rule."""
    client, _ = billing_member
    schema = client.get("/api/v1/schema/?format=json").json()
    validator = Draft7Validator({**schema, "$ref": "#/components/schemas/BillingAccountInRequest"})
    bodies = [{**ACCOUNT, "tax_rate": rate} for rate in ("0", "0.5", "99.99", "100", "100.00")]
    bodies += [
        {**ACCOUNT, "reverse_charge": True},
        {**ACCOUNT, "reverse_charge": True, "tax_id": " "},
        {**ACCOUNT, "reverse_charge": False, "tax_id": ""},
        {**ACCOUNT, "tax_id": "de123456789"},
        {**ACCOUNT, "tax_id": " EL123456789 "},
        {**ACCOUNT, "country": "zz"},
        {**ACCOUNT, "country": "Gr"},
        {key: value for key, value in ACCOUNT.items() if key != "tax_id"}
        | {"reverse_charge": True},
    ]
    # Read as published, not as DRF reads a field: in ASCII digits and unpadded (the rate in
    # Arabic-Indic digits was stored as 19, " 19.00", " de" and "eur " stripped and stored),
    # and a JSON boolean ("yes", "on", 1 were reverse charge).
    bodies += [{**ACCOUNT, "tax_rate": rate} for rate in ("١٩", " 19.00", "19.00 ")]
    bodies += [{**ACCOUNT, "country": " de"}, {**ACCOUNT, "currency": "eur "}]
    bodies += [{**ACCOUNT, "reverse_charge": sent} for sent in ("yes", "on", 1, "1", "true")]
    for body in bodies:
        answer = client.put("/api/v1/billing/account", body, format="json")
        assert answer.status_code in (200, 201, 400), answer.json()
        assert validator.is_valid(body) == (answer.status_code != 400), (body, answer.json())


def test_invoices_sort_by_what_ordering_names(billing_member):
    """Before: ?ordering= was ignored here (every other list refuses an unknown term)."""
    client, customer = billing_member
    customer.account()
    january = invoicing.finalize_invoice(issue(customer, JAN, hours=5))
    february = invoicing.finalize_invoice(issue(customer, FEB, hours=1))

    def numbers(query):
        return [row["number"] for row in client.get(f"/api/v1/invoices?{query}").json()["results"]]

    assert numbers("") == [february.number, january.number]  # newest period first
    assert numbers("ordering=period_start") == [january.number, february.number]
    by_total = sorted([january, february], key=lambda invoice: invoice.total)
    assert january.total != february.total
    assert numbers("ordering=total") == [invoice.number for invoice in by_total]
    assert numbers("ordering=-total") == [invoice.number for invoice in reversed(by_total)]
    refused = client.get("/api/v1/invoices?ordering=no_such_field")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_ordering")
