"""Finance admin for invoices (finance group, TOTP).

The Invoice changelist links to the finance pages (exports, vendor payouts, charts:
billing/finance_admin.py) through templates/admin/billing/invoice/change_list.html."""

from django.contrib import admin

from billing.models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "status", "currency", "total", "finalized_at")
    list_filter = ("status", "kind", "currency", "period_start")
