"""Every decision needs a reason, whatever door it comes through: each action taking one (a
run's review, a workflow package's review, a void, a yank, hiding a review) refuses a blank
reason (reason_required), one too long to record (reason_too_long) or one others would read
otherwise than it was written (invalid_reason: a control or bidirectional character) itself,
changes nothing, and records the reason without surrounding whitespace. Where a reason is
optional (a credit note), leaving it out is allowed but the other rules hold."""

from datetime import UTC, datetime

import pytest

from billing import invoicing
from billing.models import Invoice
from certification.models import CertificationRun
from certification.pipeline import actions
from edgeplug import reasons
from edgeplug.errors import InvalidReason, ReasonRequired, ReasonTooLong
from marketplace import reviews, services, wpk
from marketplace.models import AgentVersion, Review, WorkflowPackage
from tests.factories import (
    AgentVersionFactory,
    CertificationRunFactory,
    EntitlementFactory,
    TenantFactory,
    WorkflowPackageFactory,
    finalized_sale,
    staff_member,
)

pytestmark = pytest.mark.django_db

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _review_run():
    run = CertificationRunFactory()

    def decide(reason):
        actions.review_run(run, approve=True, reason=reason, reviewer=staff_member("reviewers"))

    return decide, lambda: CertificationRun.objects.get(pk=run.pk).review_reason


def _review_wpk():
    item = WorkflowPackageFactory()

    def decide(reason):
        wpk.review_wpk(item, approve=False, reason=reason, reviewer=staff_member("reviewers"))

    return decide, lambda: WorkflowPackage.objects.get(pk=item.pk).review_reason


def _void():
    invoice = finalized_sale(TenantFactory(), EntitlementFactory(), JAN, amount=1000)
    return (
        lambda reason: invoicing.void_invoice(invoice, reason=reason),
        lambda: Invoice.objects.get(pk=invoice.pk).void_reason,
    )


def _yank():
    version = AgentVersionFactory()
    return (
        lambda reason: services.yank_version(version, reason),
        lambda: AgentVersion.objects.get(pk=version.pk).yank_reason,
    )


def _hide_review():
    review = Review.objects.create(
        tenant=TenantFactory(), agent=AgentVersionFactory().agent, stars=1, title="spam"
    )
    return (
        lambda reason: reviews.hide_review(review, reason),
        lambda: Review.objects.get(pk=review.pk).hidden_reason,
    )


DECISIONS = {
    "review a run": _review_run,
    "review a workflow package": _review_wpk,
    "void an invoice": _void,
    "yank a version": _yank,
    "hide a review": _hide_review,
}
LIMITED = [name for name in DECISIONS if name != "review a run"]  # a run's reason is a TEXT


# A zero-width space, a byte order mark and a word joiner show nothing: str.strip keeps them.
INVISIBLE = ["\u200b", " \ufeff\u2060 ", "\u3000\xa0", "\u3164 \ufe0f\uffa0"]


@pytest.mark.parametrize("blank", ["", "   ", "\n\t ", *INVISIBLE])
@pytest.mark.parametrize("decision", DECISIONS)
def test_a_decision_without_a_reason_is_refused_and_changes_nothing(decision, blank):
    decide, recorded = DECISIONS[decision]()
    with pytest.raises(ReasonRequired) as refused:
        decide(blank)
    assert (refused.value.code, refused.value.status) == ("reason_required", 400)
    assert recorded() == ""


@pytest.mark.parametrize("decision", LIMITED)
def test_a_reason_too_long_to_record_is_refused_not_cut(decision):
    decide, recorded = DECISIONS[decision]()
    with pytest.raises(ReasonTooLong) as refused:
        decide("x" * 1001)
    assert refused.value.code == "reason_too_long"
    assert recorded() == ""


# Read by vendors and customers in the portal, emails and documents, and by the CLI on a
# terminal: an escape sequence there could rewrite the lines around it, a bidirectional
# override shows the reason in another order. Line breaks and tabs stay.
UNREADABLE = {
    "escape": ("bad\x1b[2K\x1b[1Acertification: certified", "U+001B"),
    "8-bit CSI": ("bad\x9b31m", "U+009B"),
    "override": ("refund \u202e00.001", "U+202E"),
}


@pytest.mark.parametrize("unreadable", UNREADABLE)
@pytest.mark.parametrize("decision", DECISIONS)
def test_a_reason_others_would_read_otherwise_is_refused(decision, unreadable):
    decide, recorded = DECISIONS[decision]()
    reason, code_point = UNREADABLE[unreadable]
    with pytest.raises(InvalidReason) as refused:
        decide(reason)
    assert (refused.value.code, refused.value.status) == ("invalid_reason", 400)
    assert code_point in refused.value.detail and refused.value.field == "reason"
    assert recorded() == ""
    decide("first line\n\tsecond line")  # what a text area sends stays
    assert recorded() == "first line\n\tsecond line"


@pytest.mark.parametrize("decision", DECISIONS)
def test_the_reason_is_recorded_without_surrounding_whitespace(decision):
    decide, recorded = DECISIONS[decision]()
    decide("  sent to the wrong company\n")
    assert recorded() == "sent to the wrong company"


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t ", *INVISIBLE])
def test_an_optional_reason_left_blank_is_recorded_as_empty(blank):
    assert reasons.optional_reason(blank, max_length=300) == ""


def test_an_optional_reason_given_is_recorded_without_surrounding_whitespace():
    assert reasons.optional_reason("  wrong plan\n", max_length=300) == "wrong plan"
    assert reasons.optional_reason(" " + "x" * 300 + " ", max_length=300) == "x" * 300


def test_an_optional_reason_others_would_read_otherwise_is_refused():
    with pytest.raises(InvalidReason):
        reasons.optional_reason("credited \u202e", max_length=300)


def test_an_optional_reason_too_long_to_record_is_refused_not_cut():
    with pytest.raises(ReasonTooLong) as refused:
        reasons.optional_reason("x" * 301, max_length=300)
    assert (refused.value.code, refused.value.status) == ("reason_too_long", 400)


def test_the_admin_refuses_a_void_reason_too_long_to_record_instead_of_cutting_it(admin_session):
    client, _ = admin_session("finance")
    invoice = finalized_sale(TenantFactory(), EntitlementFactory(), JAN, amount=1000)
    page = client.post(
        f"/admin/billing/invoice/{invoice.pk}/void/", {"reason": "x" * 501}, follow=True
    )
    assert "Keep the reason to 500 characters (501 given)." in page.content.decode()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.void_reason) == ("open", "")
    blank = client.post(f"/admin/billing/invoice/{invoice.pk}/void/", {"reason": " "}, follow=True)
    assert "A decision needs a reason." in blank.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "open"
