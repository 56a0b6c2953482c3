"""When an entitlement counts: in force at an instant (downloads, deployments, usage, the
catalogue's count) and overlapping a billing period (the month close), the query and the
Python check giving the same answer at the edges."""

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.models import Entitlement, EntitlementStatus
from tests.factories import EntitlementFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 10, 12, tzinfo=UTC)
END = datetime(2026, 2, 10, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _in_force(entitlement, now) -> bool:
    return Entitlement.objects.filter(pk=entitlement.pk).in_force(now).exists()


def test_an_entitlement_is_in_force_from_its_start_until_just_before_its_end():
    bounded = EntitlementFactory(valid_from=START, valid_until=END)
    assert not _in_force(bounded, START - SECOND)
    assert _in_force(bounded, START)
    assert _in_force(bounded, END - SECOND)
    assert not _in_force(bounded, END)

    open_ended = EntitlementFactory(valid_from=START, valid_until=None)
    assert _in_force(open_ended, END + timedelta(days=3650))


def test_a_suspended_or_revoked_entitlement_is_not_in_force_within_its_validity():
    for status in (EntitlementStatus.SUSPENDED, EntitlementStatus.REVOKED):
        entitlement = EntitlementFactory(valid_from=START, valid_until=END, status=status)
        assert not _in_force(entitlement, START + SECOND)


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "overlaps"),
    [
        (START - timedelta(days=40), START, False),  # ended as the period starts
        (START - timedelta(days=40), START + SECOND, True),
        (END - SECOND, None, True),
        (END, None, False),  # starts as the period ends
        (START - timedelta(days=40), None, True),
        (START + SECOND, END - SECOND, True),
    ],
)
def test_the_month_close_and_its_query_agree_on_which_entitlements_overlap_a_period(
    valid_from, valid_until, overlaps
):
    entitlement = EntitlementFactory(valid_from=valid_from, valid_until=valid_until)
    in_query = Entitlement.objects.filter(pk=entitlement.pk).overlapping(START, END).exists()
    assert entitlement.overlaps(START, END) is overlaps
    assert in_query is overlaps
