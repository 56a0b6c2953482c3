"""Billing 0030 keeps each dispute of a card payment in its own table (``ChargeDispute``),
which decides whether a payment is under a chargeback, instead of reading the
``charge_disputed`` / ``charge_dispute_closed`` audit events back. The fill rebuilds each
dispute from its events, in the order they were written, by the webhook's own rule
(``payments.news``), and can run again (docs/operations.md, *Upgrades*)."""

import importlib

import pytest
from django.apps import apps as django_apps

from billing import payments
from billing.models import ChargeDispute
from edgeplug.audit.models import AuditEvent

THE_FILL = importlib.import_module("billing.migrations.0030_charge_dispute").fill_from_the_audit_log

pytestmark = pytest.mark.django_db


def told(dispute: str, *statuses: str) -> None:
    """Events as the webhook wrote them (a close as ``charge_dispute_closed``; the previous
    release wrote a ``warning_closed`` or ``prevented`` close as ``charge_disputed``)."""
    for status in statuses:
        action = "charge_dispute_closed" if status in ("won", "lost") else "charge_disputed"
        details = {"dispute": dispute, "payment_intent": f"pi_{dispute}", "status": status}
        AuditEvent.objects.create(action=action, target="order 1", details=details)


def test_each_dispute_is_filled_as_the_webhook_would_have_kept_it():
    told("escalated", "warning_needs_response", "needs_response")
    told("answered", "needs_response", "under_review")
    told("asked", "warning_needs_response")
    told("prevented", "needs_response", "prevented")  # the previous release's close
    told("won_then_late", "won", "needs_response")  # a created delivered after the close
    told("lost", "needs_response", "lost")

    THE_FILL(django_apps, None)
    THE_FILL(django_apps, None)  # the next release runs it again

    rows = ChargeDispute.objects.order_by("dispute_id")
    assert list(rows.values_list("dispute_id", "payment_intent_id", "status")) == [
        ("answered", "pi_answered", "needs_response"),
        ("asked", "pi_asked", "warning_needs_response"),
        ("escalated", "pi_escalated", "needs_response"),
        ("lost", "pi_lost", "lost"),
        ("prevented", "pi_prevented", "prevented"),
        ("won_then_late", "pi_won_then_late", "won"),
    ]
    intents = [f"pi_{row.dispute_id}" for row in rows]
    assert payments.open_disputes(intents) == {
        "pi_answered": "answered",
        "pi_escalated": "escalated",
    }
