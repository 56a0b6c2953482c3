"""An invoice's lines on its admin page read in the currency's major unit: their titles said
"adjustment Goodwill discount -250" and their breakdown was the stored JSON in minor units."""

import re

import pytest
from lxml import html

pytestmark = pytest.mark.django_db

URL = "/admin/billing/invoice/"


def test_line_titles_and_breakdowns_are_in_euros(admin_session, draft):
    client, _ = admin_session("finance")
    client.post(f"{URL}{draft.pk}/adjust/", {"description": "Goodwill discount", "amount": "-2.50"})

    page = html.fromstring(client.get(f"{URL}{draft.pk}/change/").content)

    titles = [" ".join(p.text_content().split()) for p in page.xpath('//td[@class="original"]/p')]
    assert "adjustment Goodwill discount -2.50 EUR" in titles, titles
    assert all(re.search(r" -?\d+\.\d{2} EUR$", title) for title in titles), titles
    breakdowns = [
        " ".join(cell.text_content().split())
        for cell in page.xpath('//td[contains(@class, "field-breakdown_shown")]')
    ]
    assert "agent-hours 0-10: 3 x 1.00 = 3.00 EUR" in breakdowns, breakdowns
    assert not any("{" in text for text in breakdowns), breakdowns
