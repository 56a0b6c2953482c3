"""The invoice admin's payment actions (finance): retry a payment now, record an offline
payment with its reference. Doors only: each calls one action of billing.collection, which
audits. Mixed into the invoice admin (billing/admin.py) with ``PAYMENT_ACTIONS``."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from billing import collection
from billing.models import InvoiceStatus
from edgeplug.errors import DomainError

PAYMENT_ACTIONS = ["retry_payment", "record_offline_payment"]


class OfflinePaymentForm(forms.Form):
    reference = forms.CharField(
        max_length=collection.MAX_REFERENCE_LENGTH,
        label="Payment reference",
        help_text="As on the bank statement, e.g. the transfer's end-to-end id.",
    )


class InvoicePaymentActions:
    @admin.action(
        description="Retry payment now (charge the card on file)", permissions=["collect"]
    )
    def retry_payment(self, request, queryset):
        for invoice in queryset.order_by("pk"):
            try:
                attempt = collection.retry_invoice_payment(
                    invoice, actor=request.user, request=request
                )
            except DomainError as exc:
                self.message_user(request, f"{invoice}: {exc.detail}", messages.ERROR)
                continue
            level = messages.SUCCESS if attempt.outcome == InvoiceStatus.PAID else messages.WARNING
            detail = attempt.invoice.payment_failure_detail
            self.message_user(
                request,
                f"{attempt.invoice.number}: {attempt.outcome}" + (f" ({detail})" if detail else ""),
                level,
            )

    @admin.action(
        description="Record an offline payment (with its reference)", permissions=["collect"]
    )
    def record_offline_payment(self, request, queryset):
        form = OfflinePaymentForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/billing/invoice/record_offline_payment.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Record an offline payment",
                    "invoices": queryset.order_by("pk"),
                    "form": form,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        for invoice in queryset.order_by("pk"):
            try:
                paid = collection.record_offline_payment(
                    invoice,
                    reference=form.cleaned_data["reference"],
                    actor=request.user,
                    request=request,
                )
            except DomainError as exc:
                self.message_user(request, f"{invoice}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{paid.number} recorded as paid.", messages.SUCCESS)
        return None

    def has_collect_permission(self, request) -> bool:
        return request.user.has_perm("billing.collect_invoice")
