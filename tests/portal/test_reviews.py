"""An agent's reviews on the portal: customers' reviews newest first, as the API shows them
(hidden ones neither), the vendor's one reply to each, written by its publishers through
the API's action and refused alike at both doors; another vendor's are not found."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.utils.html import escape

from edgeplug.audit.models import AuditEvent
from marketplace.models import Agent, Review
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    ReviewFactory,
    TenantFactory,
    VendorTenantFactory,
)
from tests.portal.conftest import PortalVendor

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'
LONG_AGO = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)


def _reviews_url(agent) -> str:
    return f"/portal/agents/{agent.pk}/reviews/"


def _reply_url(review) -> str:
    return f"/portal/agents/{review.agent_id}/reviews/{review.pk}/reply/"


def _field(review) -> str:
    return f"review-{review.pk}-text"


def _written(review, when: datetime) -> Review:
    """The review as last written at ``when`` (``updated_at`` is the date the page shows)."""
    Review.objects.filter(pk=review.pk).update(created_at=when, updated_at=when)
    review.refresh_from_db()
    return review


@dataclass
class Reviewed:
    vendor: PortalVendor
    agent: Agent
    old: Review
    new: Review
    hidden: Review


@pytest.fixture
def agent_reviews(portal_vendor):
    """portal_vendor(role) with a published agent reviewed by three customers: one replied
    to long ago, one new and unreplied, one a reviewer hid."""

    def make(role="developer"):
        vendor = portal_vendor(role)
        agent = AgentVersionFactory(
            agent__tenant=vendor.tenant, agent__name="pump", public=True
        ).agent
        old = _written(
            ReviewFactory(
                agent=agent,
                tenant=TenantFactory(name="Factory One"),
                stars=5,
                title="Caught a bearing early",
                text="Saved us a pump.\nTwice.",
                vendor_reply="Glad it helped!",
                vendor_reply_at=LONG_AGO + timedelta(days=1),
            ),
            LONG_AGO,
        )
        new = ReviewFactory(
            agent=agent, tenant=TenantFactory(name="Bottling Two"), stars=2, title="Noisy"
        )
        hidden = ReviewFactory(
            agent=agent,
            tenant=TenantFactory(name="Spam Three"),
            title="Buy cheap watches",
            hidden_at=LONG_AGO,
            hidden_reason="Spam",
        )
        return Reviewed(vendor, agent, old, new, hidden)

    return make


def test_the_page_lists_the_agents_reviews_newest_first_as_customers_see_them(agent_reviews):
    r = agent_reviews("operator")
    vendor, agent = r.vendor, r.agent
    page = vendor.client.get(_reviews_url(agent))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Noisy") < html.index("Caught a bearing early")
    assert "Bottling Two" in html and "Factory One" in html
    assert 'aria-label="5 out of 5 stars">★★★★★<' in html
    assert 'aria-label="2 out of 5 stars">★★☆☆☆<' in html
    assert "2026-03-04 05:06 UTC" in html
    assert "Saved us a pump.<br>Twice." in html
    assert "Glad it helped!" in html and "2026-03-05 05:06 UTC" in html
    assert "3.5 out of 5 stars from 2 reviews" in html


def test_a_hidden_review_is_not_shown_to_its_vendor_as_the_api_shows_none(agent_reviews, api):
    r = agent_reviews()
    vendor, agent = r.vendor, r.agent
    html = vendor.client.get(_reviews_url(agent)).content.decode()
    assert "Buy cheap watches" not in html and "Spam Three" not in html
    listed = api.get(f"/api/v1/agents/{agent.pk}/reviews").json()["results"]
    assert [item["title"] for item in listed] == ["Noisy", "Caught a bearing early"]
    assert vendor.client.post(_reply_url(r.hidden), {_field(r.hidden): "Hi"}).status_code == 404


def test_reviews_text_is_escaped(portal_vendor):
    vendor = portal_vendor("developer")
    review = ReviewFactory(agent__tenant=vendor.tenant, title=SCRIPT, text=SCRIPT)
    html = vendor.client.get(_reviews_url(review.agent)).content.decode()
    assert SCRIPT not in html and escape(SCRIPT) in html


def test_an_agent_without_reviews_says_so(portal_vendor):
    vendor = portal_vendor("developer")
    agent = AgentFactory(tenant=vendor.tenant, name="valve-guard")
    html = vendor.client.get(_reviews_url(agent)).content.decode()
    assert "No customer has reviewed valve-guard yet." in html


@pytest.mark.parametrize("role", ["admin", "developer"])
def test_a_publisher_replies_once_and_the_reply_shows_under_the_review(agent_reviews, role, api):
    r = agent_reviews(role)
    vendor, agent = r.vendor, r.agent
    html = vendor.client.get(_reviews_url(agent)).content.decode()
    # A form for the review without a reply only.
    assert f'action="{_reply_url(r.new)}"' in html and f'action="{_reply_url(r.old)}"' not in html

    sent = vendor.client.post(_reply_url(r.new), {_field(r.new): "  Fixed in 1.3.0.\r\nThanks!  "})

    assert sent.status_code == 302
    assert sent["Location"] == f"{_reviews_url(agent)}#review-{r.new.pk}"
    r.new.refresh_from_db()
    assert (r.new.vendor_reply, r.new.vendor_reply_by) == ("Fixed in 1.3.0.\nThanks!", vendor.user)
    page = vendor.client.get(sent["Location"]).content.decode()
    assert "Your reply to Bottling Two is published." in page
    assert "Fixed in 1.3.0.<br>Thanks!" in page
    assert f'action="{_reply_url(r.new)}"' not in page
    event = AuditEvent.objects.get(action="review_replied")
    assert (event.actor, event.target) == (vendor.user, f"review {r.new.pk}")
    # Customers read it at the API.
    listed = api.get(f"/api/v1/agents/{agent.pk}/reviews").json()["results"]
    assert listed[0]["vendor_reply"] == "Fixed in 1.3.0.\nThanks!"


def test_a_reply_of_5000_characters_is_published(agent_reviews):
    r = agent_reviews()
    vendor = r.vendor
    # A browser sends a line break as CRLF but counts it as one character, as the API does.
    text = "a" * 4000 + "\r\n" + "b" * 999
    assert vendor.client.post(_reply_url(r.new), {_field(r.new): text}).status_code == 302
    r.new.refresh_from_db()
    assert len(r.new.vendor_reply) == 5000


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "reply_required"), ("  \r\n ", "reply_required"), ("x" * 5001, "reply_too_long")],
    ids=["empty", "blank", "5001"],
)
def test_a_refused_reply_is_said_beside_its_form_with_the_text_kept(agent_reviews, text, code):
    r = agent_reviews()
    vendor = r.vendor
    refused = vendor.client.post(_reply_url(r.new), {_field(r.new): text})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert f'<strong class="code">{code}</strong>' in html
    # Beside the form of that review, on the page the review is on.
    form = html[html.index(f'id="review-{r.new.pk}"') :]
    assert form.index(code) < form.index(f'name="{_field(r.new)}"')
    if text.strip():
        assert text in html
    r.new.refresh_from_db()
    assert (r.new.vendor_reply, r.new.vendor_reply_at) == ("", None)
    assert not AuditEvent.objects.filter(action="review_replied").exists()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("", "reply_required", id="empty"),
        pytest.param("   ", "reply_required", id="blank"),
        pytest.param("\u200b\u2060", "reply_required", id="invisible"),
        pytest.param("x" * 5001, "reply_too_long", id="5001"),
        # Read as the review itself is (edgeplug.text.unreadable): U+202E showed the reply
        # in another order, an escape sequence in a terminal cleared the screen.
        pytest.param("Fixed in \u202e1.0.1", "invalid_review_text", id="bidi"),
        pytest.param("ok\x1b[2J", "invalid_review_text", id="escape"),
    ],
)
def test_a_bad_reply_is_refused_alike_at_the_api_and_the_portal(
    agent_reviews, member_client, text, code
):
    r = agent_reviews()
    vendor, agent = r.vendor, r.agent
    api, _ = member_client("developer", tenant=vendor.tenant)
    by_api = api.post(
        f"/api/v1/agents/{agent.pk}/reviews/{r.new.pk}/reply", {"text": text}, format="json"
    )
    by_portal = vendor.client.post(_reply_url(r.new), {_field(r.new): text})
    assert (by_api.status_code, by_api.json()["code"]) == (400, code)
    assert by_portal.status_code == 400
    assert code in by_portal.content.decode()
    assert escape(by_api.json()["detail"]) in by_portal.content.decode()


def test_a_reply_without_its_field_is_reply_required_at_both_doors(agent_reviews, member_client):
    r = agent_reviews()
    vendor, agent = r.vendor, r.agent
    api, _ = member_client("developer", tenant=vendor.tenant)
    by_api = api.post(f"/api/v1/agents/{agent.pk}/reviews/{r.new.pk}/reply", {}, format="json")
    by_portal = vendor.client.post(_reply_url(r.new), {})
    assert (by_api.status_code, by_api.json()["code"]) == (400, "reply_required")
    assert by_portal.status_code == 400 and "reply_required" in by_portal.content.decode()


def test_a_second_reply_is_refused_and_the_first_stays(agent_reviews, member_client):
    """Another member replied (at the API) while the page was open: the page's form is
    refused with already_replied, and shows the reply in force."""
    r = agent_reviews()
    vendor, agent = r.vendor, r.agent
    api, _ = member_client("admin", tenant=vendor.tenant)
    first = api.post(
        f"/api/v1/agents/{agent.pk}/reviews/{r.new.pk}/reply", {"text": "First"}, format="json"
    )
    assert first.status_code == 200

    refused = vendor.client.post(_reply_url(r.new), {_field(r.new): "Second"})

    assert refused.status_code == 409
    html = refused.content.decode()
    assert '<strong class="code">already_replied</strong>' in html
    assert "First" in html
    r.new.refresh_from_db()
    assert r.new.vendor_reply == "First"
    assert AuditEvent.objects.filter(action="review_replied").count() == 1


@pytest.mark.parametrize("api_format", ["json", "multipart"])
def test_a_reply_holding_nul_is_refused_alike_at_the_api_and_the_portal(
    agent_reviews, member_client, api_format
):
    r = agent_reviews()
    api, _ = member_client("developer", tenant=r.vendor.tenant)
    by_api = api.post(
        f"/api/v1/agents/{r.agent.pk}/reviews/{r.new.pk}/reply",
        {"text": "Thanks\x00"},
        format=api_format,
    )
    by_portal = r.vendor.client.post(_reply_url(r.new), {_field(r.new): "Thanks\x00"})
    assert (by_api.status_code, by_api.json()["code"]) == (400, "nul_character")
    assert by_portal.status_code == 400 and "nul_character" in by_portal.content.decode()
    r.new.refresh_from_db()
    assert r.new.vendor_reply_at is None


@pytest.mark.parametrize("role", ["operator", "billing"])
def test_operators_and_billing_read_reviews_but_may_not_reply(agent_reviews, role):
    r = agent_reviews(role)
    vendor, agent = r.vendor, r.agent
    page = vendor.client.get(_reviews_url(agent))
    html = page.content.decode()
    assert page.status_code == 200 and "Noisy" in html
    assert f'action="{_reply_url(r.new)}"' not in html and "Your reply to" not in html

    refused = vendor.client.post(_reply_url(r.new), {_field(r.new): "Thanks"})

    assert refused.status_code == 403
    r.new.refresh_from_db()
    assert r.new.vendor_reply_at is None
    [event] = AuditEvent.objects.filter(action="permission_denied")
    assert (event.actor, event.tenant) == (vendor.user, vendor.tenant)
    assert event.target == f"POST {_reply_url(r.new)}"
    assert event.details["view"] == "portal:review-reply"


def test_another_vendors_agent_and_reviews_are_not_found(agent_reviews):
    r = agent_reviews("admin")
    vendor, agent = r.vendor, r.agent
    rival = ReviewFactory(agent__tenant=VendorTenantFactory(slug="rival-robotics"))
    assert vendor.client.get(_reviews_url(rival.agent)).status_code == 404
    assert vendor.client.post(_reply_url(rival), {_field(rival): "Try ours"}).status_code == 404
    # Another vendor's review named under this vendor's agent, and the other way round.
    mixed = f"/portal/agents/{agent.pk}/reviews/{rival.pk}/reply/"
    assert vendor.client.post(mixed, {_field(rival): "Hi"}).status_code == 404
    crossed = f"/portal/agents/{rival.agent_id}/reviews/{r.new.pk}/reply/"
    assert vendor.client.post(crossed, {_field(r.new): "Hi"}).status_code == 404
    rival.refresh_from_db()
    r.new.refresh_from_db()
    assert rival.vendor_reply_at is None and r.new.vendor_reply_at is None
    assert not AuditEvent.objects.filter(action="permission_denied").exists()


def test_reviews_come_a_page_at_a_time_and_a_refusal_shows_on_the_reviews_page(portal_vendor):
    vendor = portal_vendor("developer")
    agent = AgentFactory(tenant=vendor.tenant)
    reviews = [
        _written(
            ReviewFactory(agent=agent, title=f"Review number {n:02}"),
            LONG_AGO + timedelta(hours=n),
        )
        for n in range(26)
    ]
    first = vendor.client.get(_reviews_url(agent)).content.decode()
    assert "Review number 25" in first and "Review number 01" in first
    assert "Review number 00" not in first
    assert f'href="{_reviews_url(agent)}?page=2"' in first and "Page 1 of 2" in first
    second = vendor.client.get(f"{_reviews_url(agent)}?page=2").content.decode()
    assert "Review number 00" in second and "Review number 01" not in second
    assert f'href="{_reviews_url(agent)}"' in second
    # The first for one that is no page number (0 and -1 showed the last), the last past it.
    for nonsense, shown in (("x", 1), ("0", 1), ("-1", 1), ("", 1), ("99", 2)):
        page = vendor.client.get(f"{_reviews_url(agent)}?page={nonsense}")
        assert page.status_code == 200 and f"Page {shown} of 2" in page.content.decode()

    oldest = reviews[0]
    refused = vendor.client.post(_reply_url(oldest), {_field(oldest): ""})
    html = refused.content.decode()
    assert refused.status_code == 400 and "Page 2 of 2" in html and "reply_required" in html
    sent = vendor.client.post(_reply_url(oldest), {_field(oldest): "Thanks"})
    assert sent["Location"] == f"{_reviews_url(agent)}?page=2#review-{oldest.pk}"
