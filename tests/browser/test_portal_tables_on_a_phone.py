"""The portal's tables on a phone (390 px): a table too wide for the window scrolls in its own
box, its words whole. Before, text anywhere in the page might break between any two letters
(so a long plan name never pushed the page sideways), and tables took that as leave to squeeze
their columns instead: "Remove" and each member's email were written a letter a line."""

import pytest

from tests.browser.test_vendor_portal_journey import portal_sign_in
from tests.factories import (
    AgentVersionFactory,
    MembershipFactory,
    UserFactory,
    VendorKeyFactory,
)

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}

# Each word of a table cell's text (code aside: a key id may wrap anywhere) that the browser
# laid out over more than one line. Hyphens are break points a reader expects.
SPLIT_WORDS = """() => {
  const split = [];
  for (const cell of document.querySelectorAll('main td, main th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('code, .sr-only')) continue;
      for (const word of node.textContent.matchAll(/[^\\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) split.push(word[0]);
      }
    }
  }
  return split;
}"""


def test_a_vendor_reads_the_tables_on_a_phone_with_words_whole(journey, vendor_admin):
    tenant = vendor_admin.memberships.get().tenant
    for email, role in (
        ("developer.one@acme-robotics.example", "developer"),
        ("billing.office@acme-robotics.example", "billing"),
    ):
        MembershipFactory(tenant=tenant, user=UserFactory(email=email), role=role)
    key = VendorKeyFactory(tenant=tenant, name="release laptop")
    AgentVersionFactory(agent__tenant=tenant, agent__name="pump-anomaly", version="1.0.0")
    page = journey.page
    page.set_viewport_size(PHONE)
    portal_sign_in(journey, vendor_admin)

    for path in ("/portal/", "/portal/team/", "/portal/keys/"):
        journey.goto(path)
        assert page.evaluate(SPLIT_WORDS) == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path

    # The last column is reached from the keyboard: its table scrolls to show it.
    journey.goto("/portal/team/")
    remove = page.get_by_role("link", name="Remove billing.office@acme-robotics.example")
    remove.focus()
    box = remove.bounding_box()
    assert box["width"] > 40 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    journey.click(remove)
    assert page.url.endswith("/remove/")

    journey.goto("/portal/keys/")
    revoke = page.get_by_role("link", name=f"Revoke {key.key_id}")
    revoke.focus()
    box = revoke.bounding_box()
    assert box["width"] > 40 and box["x"] + box["width"] <= PHONE["width"]
