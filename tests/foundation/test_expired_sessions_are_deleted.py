"""Browser sessions of people who never signed out (they closed the tab) are deleted by a beat
job once expired, as Django leaves to ``clearsessions``; sessions still valid are kept."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, VendorTenantFactory
from tests.portal.conftest import portal_sign_in

pytestmark = pytest.mark.django_db


def run_session_beat_job() -> None:
    """The session job the beat schedule names, run in this process."""
    from edgeplug.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    app.tasks[entry["task"]].apply().get()


def sign_in_members(count: int) -> None:
    tenant = VendorTenantFactory()
    for _ in range(count):
        member = MembershipFactory(tenant=tenant, role="developer", user=UserFactory())
        assert portal_sign_in(Client(), member.user).status_code == 302


def test_sessions_of_people_who_never_signed_out_are_deleted_once_expired(time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    sign_in_members(3)
    assert Session.objects.count() == 3

    time_machine.move_to(start + timedelta(seconds=settings.SESSION_COOKIE_AGE, days=1))
    run_session_beat_job()

    assert Session.objects.count() == 0


def test_sessions_still_valid_are_kept(time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    sign_in_members(2)

    time_machine.move_to(start + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60))
    run_session_beat_job()

    assert Session.objects.count() == 2
