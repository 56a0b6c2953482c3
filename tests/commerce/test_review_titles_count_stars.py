"""A review's title in the admin counts its stars in good English: "1 star", "4 stars" (the
reviewers' page said "1 stars for …")."""

import pytest
from lxml import html

from tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("stars", "counted"), [(1, "1 star for"), (4, "4 stars for")])
def test_a_review_page_counts_its_stars(admin_session, stars, counted):
    review = ReviewFactory(stars=stars)
    client, _ = admin_session("reviewers")

    page = html.fromstring(client.get(f"/admin/marketplace/review/{review.pk}/change/").content)

    (title,) = page.xpath('//div[@id="content"]/h2')
    assert title.text_content() == f"{counted} {review.agent} by {review.tenant}"
