"""manage.py close_month --period YYYY-MM [--force]: close a billing month now, as the hourly
beat job does for the previous month (drafts per tenant and currency; idempotent), audited as
``billing_period_closed``. A month that has not ended needs ``--force``."""

from django.core.management.base import BaseCommand, CommandError

from billing import periods
from billing.errors import InvalidPeriod, PeriodNotEnded
from billing.invoicing import close_period_now
from edgeplug.core.commands import operator_name


class Command(BaseCommand):
    help = "Close a billing month (UTC) into draft invoices now."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, YYYY-MM (UTC)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="close the current month before it has ended: its usage so far is drafted, "
            "later usage is billed as late usage on next month's invoice",
        )

    def handle(self, *args, period, force, **options):
        try:
            start = periods.parse_month(period)
            result = close_period_now(
                start, force=force, via=f"manage.py close_month (as {operator_name()})"
            )
        except (InvalidPeriod, PeriodNotEnded) as refusal:
            raise CommandError(refusal.detail) from None
        self.stdout.write(f"{period}: {result.summary()}.")
        for invoice_id in result.created + result.updated:
            self.stdout.write(f"  draft {invoice_id}: /admin/billing/invoice/{invoice_id}/change/")
