"""Every date-time the admin prints says its zone, as the detail fields do ("Feb. 4, 2026,
9:30 a.m. UTC", edgeplug/formats): the run list's "created" column, a run's stage attempts, an
audit event's and an advisory import's titles printed times with no zone beside ones marked UTC."""

from datetime import UTC, datetime

import pytest
import time_machine
from lxml import html

from certification.models import AdvisoryImport, CertificationRun, StageAttempt
from edgeplug.audit.models import AuditEvent
from edgeplug.audit.services import record_event
from tests.factories import CertificationRunFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 2, 4, 16, 16, 15, tzinfo=UTC)
SHOWN = "Feb. 4, 2026, 4:16 p.m. UTC"


def text(element) -> str:
    return " ".join(element.text_content().split())


def test_the_run_list_and_a_run_s_stage_attempts_say_utc(admin_session):
    run = CertificationRunFactory()
    CertificationRun.objects.filter(pk=run.pk).update(created_at=AT)
    attempt = StageAttempt.objects.create(run=run, stage="validation", worker="w1", worker_pid=7)
    StageAttempt.objects.filter(pk=attempt.pk).update(started_at=AT)
    client, _ = admin_session("reviewers")

    listed = html.fromstring(client.get("/admin/certification/certificationrun/").content)
    (created,) = listed.xpath('//td[contains(@class, "field-created")]')
    assert text(created) == SHOWN

    page = client.get(f"/admin/certification/certificationrun/{run.pk}/change/")
    assert f"validation on w1 (pid 7, {SHOWN})" in text(html.fromstring(page.content))


def test_an_audit_event_s_and_an_import_s_titles_say_utc(admin_session):
    with time_machine.travel(AT, tick=False):
        record_event("user_changed", target="user 1")
    imported = AdvisoryImport.objects.create(path="/srv/osv", status="completed", started_at=AT)
    client, _ = admin_session("platform-admins", is_superuser=True)

    event = AuditEvent.objects.get(action="user_changed")
    page = html.fromstring(client.get(f"/admin/audit/auditevent/{event.pk}/change/").content)
    assert text(page.xpath("//h2")[0]).startswith(f"{SHOWN} user_changed")

    path = f"/admin/certification/advisoryimport/{imported.pk}/change/"
    page = html.fromstring(client.get(path).content)
    assert text(page.xpath("//h2")[0]) == f"import of /srv/osv at {SHOWN} (completed)"
