"""manage.py recompute_invoice N: rebuild invoice N from the rollups and report differences
(exit status 1 when it differs, 2 when there is no such invoice)."""

from django.core.management.base import BaseCommand, CommandError

from billing.errors import InvoiceNotCreditable
from billing.invoicing import recompute_invoice
from billing.models import Invoice
from edgeplug.text import ascii_integer


class Command(BaseCommand):
    help = "Rebuild an invoice from its usage rollups and report any difference."

    def add_arguments(self, parser):
        parser.add_argument("invoice", help="invoice id or number (EP-2026-000001)")

    def handle(self, *args, invoice, **options):
        pk = ascii_integer(invoice)
        lookup = {"pk": pk} if pk is not None else {"number": invoice}
        try:
            stored = Invoice.objects.get(**lookup)
        except Invoice.DoesNotExist:
            raise CommandError(f"No invoice {invoice}.", returncode=2) from None
        try:
            result = recompute_invoice(stored)
        except InvoiceNotCreditable as refusal:
            raise CommandError(refusal.detail, returncode=2) from None
        label = stored.number or f"draft {stored.pk}"
        if result.matches:
            self.stdout.write(f"{label}: matches its rollups (digest {result.digest}).")
            return
        for difference in result.differences:
            self.stdout.write(f"{label}: {difference}")
        raise CommandError(f"{label} differs from its rollups in {len(result.differences)} ways.")
