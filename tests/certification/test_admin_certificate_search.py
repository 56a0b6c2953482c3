"""The certificates list finds a version's certificate by the version's name as the list
shows it (``VersionNameSearchMixin``, as the runs list does: see the browser test)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from certification.models import Certificate
from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db


def _certified():
    run = CertificationRunFactory()
    now = timezone.now()
    return Certificate.objects.create(
        run=run,
        version=run.version,
        key_id="k1",
        payload={},
        signature="s",
        issued_at=now,
        expires_at=now + timedelta(days=365),
    )


def test_a_certificate_is_found_by_its_versions_name(admin_session):
    client, _ = admin_session("reviewers")
    wanted, _other = _certified(), _certified()
    shown = str(wanted.version)

    found = client.get("/admin/certification/certificate/", {"q": shown}).context["cl"]

    assert [certificate.pk for certificate in found.result_list] == [wanted.pk]
