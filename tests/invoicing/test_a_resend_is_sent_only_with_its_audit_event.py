"""Finance's *Resend the invoice email* reaches the customer: its ``invoice_email_resent``
event is written before the email is queued, in one transaction, so a resend whose event
cannot be written sends nothing (the page answers 500), as a sign-out whose event cannot be
written leaves the token live. A broker that refuses the email still leaves no event
(``test_finance_admin``)."""

import pytest
from django.db import DatabaseError, connection

from billing import invoicing
from edgeplug.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

# The database refusing the event's INSERT, as it would a full disk's: in the test's own
# transaction, so it goes with it.
REFUSE_THE_EVENT = """
CREATE FUNCTION test_refuse_resent_event() RETURNS trigger AS $$
BEGIN
  IF NEW.action = 'invoice_email_resent' THEN RAISE EXCEPTION 'audit insert refused'; END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER test_refuse_resent_event BEFORE INSERT ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION test_refuse_resent_event();
"""


def test_a_resend_whose_event_is_not_written_sends_no_email(
    admin_session, draft, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    client, _ = admin_session("finance")
    invoice = invoicing.finalize_invoice(draft)
    mailoutbox.clear()
    with connection.cursor() as cursor:
        cursor.execute(REFUSE_THE_EVENT)
    form = {"action": "resend_email", "_selected_action": [invoice.pk], "post": "yes"}
    with (
        pytest.raises(DatabaseError, match="audit insert refused"),  # the test client's 500
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post("/admin/billing/invoice/", form)
    assert mailoutbox == [], "the email went out with no audit event"


def test_a_resend_writes_its_event_and_sends_the_email(
    admin_session, draft, mailoutbox, eager_celery, django_capture_on_commit_callbacks
):
    client, user = admin_session("finance")
    invoice = invoicing.finalize_invoice(draft)
    mailoutbox.clear()
    form = {"action": "resend_email", "_selected_action": [invoice.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/admin/billing/invoice/", form).status_code == 302
    assert [m.to for m in mailoutbox] == [["ap@acme.example"]]
    event = AuditEvent.objects.get(action="invoice_email_resent")
    assert (event.actor, event.details["invoice"]) == (user, invoice.pk)
