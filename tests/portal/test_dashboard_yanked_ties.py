"""The portal dashboard's ten yanked versions are the newest by yank time, then by row."""

import pytest
from django.utils import timezone

from marketplace.models import AgentVersion
from tests.factories import AgentVersionFactory

pytestmark = pytest.mark.django_db


def test_of_versions_yanked_in_one_instant_the_ten_newest_rows_are_listed(portal_vendor):
    """The dashboard lists ten yanked versions, newest first; a tie of their yank times (a
    bulk yank) was broken by the rows' places on disk, so which ten showed was arbitrary."""
    vendor = portal_vendor("developer")
    versions = [
        AgentVersionFactory(agent__tenant=vendor.tenant, version=f"1.0.{n}") for n in range(11)
    ]
    yanked = timezone.now().replace(microsecond=0)
    # The newest row is written first, so it lies before the others on disk.
    for version in reversed(versions):
        AgentVersion.objects.filter(pk=version.pk).update(yanked_at=yanked, yank_reason="bulk")
    listed = vendor.client.get("/portal/").context["yanked"]
    assert [version.pk for version in listed] == [version.pk for version in versions[:0:-1]]
