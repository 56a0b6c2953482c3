"""Reviews: entitled tenants rate once (an update replaces), the vendor replies once,
reviewers hide with a reason in the admin (audited), and text is escaped on output."""

import pytest

from edgeplug.audit.models import AuditEvent
from marketplace import reviews
from marketplace.models import Entitlement, Review
from tests.commerce.conftest import admin_client, buy_free

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'


def review(client, agent, stars=4, title="Solid", text="Works on our pumps."):
    return client.post(
        f"/api/v1/agents/{agent.pk}/reviews",
        {"stars": stars, "title": title, "text": text},
        format="json",
    )


def test_entitled_tenant_reviews_once_and_an_update_replaces(customer, agent, make_plan):
    client, _ = customer
    buy_free(client, agent, make_plan)
    assert review(client, agent).status_code == 201
    again = review(client, agent, stars=2, title="Worse after update")
    assert again.status_code == 200
    assert Review.objects.get().stars == 2
    body = client.get(f"/api/v1/agents/{agent.pk}/reviews").json()
    assert body["count"] == 1
    assert body["summary"] == {
        "average": 2.0,
        "count": 1,
        "histogram": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
    }


def test_the_same_review_sent_again_changes_nothing(customer, agent, make_plan):
    """A resend (a retried request, a double click) answers 200 with the review as it is: no
    ``review_replaced`` event and no new ``updated_at`` (before: both, which moved the review
    up the vendor's "last written" list although nothing was written)."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    first = review(client, agent)
    again = review(client, agent)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert not AuditEvent.objects.filter(action="review_replaced").exists()


def test_former_holders_may_review_but_strangers_may_not(member_client, agent, make_plan):
    holder, _ = member_client("admin")
    buy_free(holder, agent, make_plan)
    Entitlement.objects.update(status="revoked")
    assert review(holder, agent).status_code == 201
    stranger, _ = member_client("admin")
    refused = review(stranger, agent)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_entitled")


def test_stars_are_one_to_five_and_billing_role_cannot_review(member_client, agent, make_plan):
    admin, membership = member_client("admin")
    buy_free(admin, agent, make_plan)
    assert review(admin, agent, stars=6).status_code == 400
    billing, _ = member_client("billing", tenant=membership.tenant)
    assert review(billing, agent).status_code == 403
    operator, _ = member_client("operator", tenant=membership.tenant)
    assert review(operator, agent).status_code == 201


@pytest.mark.parametrize(
    ("written", "detail"),
    [
        pytest.param({"title": "\u200b"}, "title: holds only invisible", id="blank-title"),
        pytest.param({"text": "\u2060"}, "text: holds only invisible", id="blank-text"),
        pytest.param({"title": "A \u202e!yrrac"}, "title: holds the bidirectional", id="bidi"),
        pytest.param({"text": "ok\x1b[2J"}, "text: holds the control character", id="escape"),
        pytest.param({"title": "A\x85B"}, "title: holds the control character", id="c1"),
    ],
)
def test_a_review_others_would_read_otherwise_than_written_is_refused(
    customer, agent, make_plan, written, detail
):
    """A title of U+200B alone was a blank in the catalogue, where a vendor's reply of it is
    refused; U+202E showed a title in another order."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    refused = review(client, agent, **written)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_review_text")
    assert refused.json()["detail"].startswith(detail)
    assert not Review.objects.exists()
    # Line breaks and tabs are text, as in any review.
    assert review(client, agent, text="Works.\n\tOn every pump.").status_code == 201


def test_vendor_replies_once_and_other_vendors_cannot(
    customer, agent, make_plan, vendor, make_vendor
):
    client, _ = customer
    buy_free(client, agent, make_plan)
    review_id = review(client, agent).json()["id"]
    url = f"/api/v1/agents/{agent.pk}/reviews/{review_id}/reply"
    rival = make_vendor(slug="rival")
    assert rival.client.post(url, {"text": "Try ours"}, format="json").status_code == 404
    first = vendor.client.post(url, {"text": "Thanks!"}, format="json")
    assert first.status_code == 200 and first.json()["vendor_reply"] == "Thanks!"
    second = vendor.client.post(url, {"text": "Again"}, format="json")
    assert (second.status_code, second.json()["code"]) == (409, "already_replied")


def test_a_rewritten_review_takes_the_reply_off_for_the_vendor_to_answer_again(
    customer, agent, make_plan, vendor
):
    """The vendor's reply answered the text it was written under: a review rewritten (new
    stars, title or text) shows without it, the vendor may answer the new one, and the audit
    event of the rewrite keeps the reply taken off. The same review sent again keeps it."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    review_id = review(client, agent, stars=5, title="Great").json()["id"]
    url = f"/api/v1/agents/{agent.pk}/reviews/{review_id}/reply"
    assert vendor.client.post(url, {"text": "Thank you!"}, format="json").status_code == 200
    resent = review(client, agent, stars=5, title="Great")
    assert (resent.status_code, resent.json()["vendor_reply"]) == (200, "Thank you!")

    rewritten = review(client, agent, stars=1, title="Broken", text="Crashes every hour")

    assert rewritten.status_code == 200
    assert (rewritten.json()["vendor_reply"], rewritten.json()["vendor_reply_at"]) == ("", None)
    listed = client.get(f"/api/v1/agents/{agent.pk}/reviews").json()["results"]
    assert [(r["title"], r["vendor_reply"]) for r in listed] == [("Broken", "")]
    event = AuditEvent.objects.filter(action="review_replaced").latest("id")
    assert event.details["reply_taken_off"] == "Thank you!"
    answer = vendor.client.post(url, {"text": "Fixed in 1.0.1"}, format="json")
    assert (answer.status_code, answer.json()["vendor_reply"]) == (200, "Fixed in 1.0.1")


def test_a_vendor_pins_the_words_it_answers_with_if_match(customer, agent, make_plan, vendor):
    """The vendor reads the review (its etag), the customer rewrites it, then the vendor's
    reply, sent with If-Match, is refused 412 review_changed and nothing is written; with the
    new etag it is published."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    read = review(client, agent, stars=5, title="Great").json()["etag"]
    url = f"/api/v1/agents/{agent.pk}/reviews/{review_id_of(agent)}/reply"
    rewritten = review(client, agent, stars=1, title="Broken").json()["etag"]
    assert rewritten != read

    stale = vendor.client.post(url, {"text": "Thanks!"}, format="json", HTTP_IF_MATCH=read)

    assert (stale.status_code, stale.json()["code"]) == (412, "review_changed")
    assert Review.objects.get().vendor_reply == ""
    fresh = vendor.client.post(url, {"text": "Sorry"}, format="json", HTTP_IF_MATCH=rewritten)
    assert (fresh.status_code, fresh.json()["vendor_reply"]) == (200, "Sorry")
    listed = client.get(f"/api/v1/agents/{agent.pk}/reviews").json()["results"]
    assert [r["etag"] for r in listed] == [rewritten]  # a reply leaves the words' tag as it was


def review_id_of(agent) -> int:
    return Review.objects.get(agent=agent).pk


def test_reviewer_hides_a_review_in_the_admin_and_text_is_escaped(customer, agent, make_plan):
    client, _ = customer
    buy_free(client, agent, make_plan)
    review_id = review(client, agent, title=SCRIPT, text=SCRIPT).json()["id"]
    assert Review.objects.get().text == SCRIPT  # stored as given
    staff, user = admin_client("reviewers")
    page = staff.get(f"/admin/marketplace/review/{review_id}/change/")
    assert page.status_code == 200
    assert SCRIPT.encode() not in page.content
    assert b"&lt;script&gt;" in page.content
    saved = staff.post(f"/admin/marketplace/review/{review_id}/change/", {"hidden_reason": "Spam"})
    assert saved.status_code == 302
    hidden = Review.objects.get()
    assert (hidden.hidden_reason, hidden.hidden_by) == ("Spam", user)
    assert client.get(f"/api/v1/agents/{agent.pk}/reviews").json()["count"] == 0
    event = AuditEvent.objects.get(action="review_hidden")
    assert (event.actor, event.details["reason"]) == (user, "Spam")


@pytest.fixture
def hidden_review(customer, agent, make_plan):
    """A review a reviewer hid in the admin for "Spam": (its change page URL, the row, who hid
    it)."""
    client, _ = customer
    buy_free(client, agent, make_plan)
    review_id = review(client, agent).json()["id"]
    staff, user = admin_client("reviewers")
    url = f"/admin/marketplace/review/{review_id}/change/"
    assert staff.post(url, {"hidden_reason": "Spam"}).status_code == 302
    return url, Review.objects.get(), user


@pytest.mark.parametrize("reason", ["Spam", "Abusive language"])
def test_saving_a_hidden_review_again_does_not_hide_it_again(hidden_review, monkeypatch, reason):
    """Before, each save re-stamped hidden_at and hidden_by, recorded another review_hidden
    and rebuilt the agent's listing. The same reason changes nothing; a new one is kept and
    recorded (``review_hidden_reason_changed``), the review staying hidden as it was."""
    url, hidden, hider = hidden_review
    rebuilt = []
    monkeypatch.setattr(reviews, "refresh_listing", rebuilt.append)
    other, editor = admin_client("reviewers")

    assert other.post(url, {"hidden_reason": reason}).status_code == 302

    again = Review.objects.get()
    assert (again.hidden_at, again.hidden_by, again.hidden_reason) == (
        hidden.hidden_at,
        hider,
        reason,
    )
    assert AuditEvent.objects.filter(action="review_hidden").count() == 1
    assert rebuilt == []  # still hidden: the listing's ratings are what they were
    changes = AuditEvent.objects.filter(action="review_hidden_reason_changed")
    if reason == hidden.hidden_reason:
        assert not changes.exists()
        return
    (event,) = changes
    assert (event.actor, event.target) == (editor, f"review {hidden.pk}")
    assert event.details == {"reason": "Abusive language", "previous_reason": "Spam"}


def test_a_review_is_stored_with_its_audit_event_and_listing_or_not_at_all(
    customer, agent, make_plan, monkeypatch
):
    """The review, its ``review_submitted`` event and the listing's new rating are one
    transaction: a failure after the write leaves no unaudited review behind."""
    client, _ = customer
    buy_free(client, agent, make_plan)

    def listing_refresh_fails(agent):
        raise RuntimeError("listing refresh failed")

    monkeypatch.setattr(reviews, "refresh_listing", listing_refresh_fails)
    with pytest.raises(RuntimeError, match="listing refresh failed"):
        review(client, agent)

    assert not Review.objects.exists()
    assert not AuditEvent.objects.filter(action="review_submitted").exists()
