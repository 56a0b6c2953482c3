"""Finance admin for invoices (finance group, TOTP)."""

from django.contrib import admin

from billing.admin_payments import PAYMENT_ACTIONS, InvoicePaymentActions
from billing.models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(InvoicePaymentActions, admin.ModelAdmin):
    """Invoices change only through their actions, never by editing."""

    list_display = (
        "number",
        "tenant",
        "period_start",
        "status",
        "currency",
        "total",
        "payment_attempts",
        "next_payment_attempt_at",
        "payment_failure_code",
    )
    list_filter = ("status", "currency")
    search_fields = ("number", "tenant__slug", "payment_intent_id", "payment_reference")
    list_select_related = ("tenant",)
    actions = [*PAYMENT_ACTIONS]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
