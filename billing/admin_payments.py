"""The invoice admin's payment actions (finance): retry a payment now, record an offline
payment with its reference, record money a credit note owed back as paid back (a transfer);
and *Money to give back*'s: record one settled with its reference. Doors only: each calls
one action of billing.collection or billing.money_back, which audits. Mixed into the invoice
admin (billing/admin.py) with ``PAYMENT_ACTIONS``, and into *Money to give back*'s."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from billing import collection, money_back
from billing.models import InvoiceStatus
from edgeplug.errors import DomainError
from marketplace.pricing import format_amount

PAYMENT_ACTIONS = ["retry_payment", "record_offline_payment", "record_money_paid_back"]


def _invoice_text(invoice) -> str:
    """An invoice as a reference's page lists it: number, tenant, status, money it gives back."""
    parts = [invoice.number or str(invoice.pk), str(invoice.tenant), invoice.status]
    if invoice.refund_amount:
        parts.append(f"gives back {format_amount(invoice.refund_amount, invoice.currency)}")
    return " — ".join(parts)


@dataclass(frozen=True)
class Recording:
    """A list action recording a payment's reference: its intermediate page's words, the
    action it calls and the message of each success (``result``: what the action returned)."""

    action: str
    title: str
    intro: str
    button: str
    record: Callable[..., Any]
    done: str
    label: str = "Payment reference"
    help_text: str = "As on the bank statement, e.g. the transfer's end-to-end id."
    describe: Callable[[Any], str] = _invoice_text


OFFLINE_PAYMENT = Recording(
    action="record_offline_payment",
    title="Record an offline payment",
    intro="Each invoice below is marked paid with this reference (a bank transfer, a cheque). "
    "An uncollectible invoice paid this way gives the tenant's suspended entitlements back.",
    button="Record payment",
    record=collection.record_offline_payment,
    done="{result.number} recorded as paid.",
)
MONEY_PAID_BACK = Recording(
    action="record_money_paid_back",
    title="Record money paid back",
    intro="Each credit note below owes its tenant money back: its invoice was paid by "
    "transfer, or Stripe refused its card refund for good (a card refund still being made "
    "is refused here). Record the transfer you sent with its reference: the note is then "
    "paid back.",
    button="Record paid back",
    record=money_back.record_money_paid_back,
    done="{result.number}: paid back ({result.refund_reference}).",
    label="Transfer reference",
    help_text="The reference of the transfer you sent back, as on your bank statement.",
)
MONEY_SETTLED = Recording(
    action="settle",
    title="Record money to give back as settled",
    intro="Give the money back (or recover it) first, in Stripe's dashboard or by transfer, "
    "as each line below says; then record here what settled it.",
    button="Record settled",
    record=money_back.settle,
    done="{result.target}: settled ({result.settled_by}).",
    label="Reference",
    help_text="The Stripe refund (re_…) or the transfer's reference, as on the bank statement.",
    describe=lambda event: " — ".join(
        (event.action.replace("_", " "), str(event.tenant), event.target, event.amount_text)
    ),
)


class ReferenceForm(forms.Form):
    # Its label and help are the Recording's.
    reference = forms.CharField(max_length=collection.MAX_REFERENCE_LENGTH)

    def clean_reference(self):
        """The actions' rule (``collection.checked_reference``), said at the field before any
        row is recorded: an invisible reference was said row by row, or not at all."""
        try:
            return collection.checked_reference(self.cleaned_data["reference"])
        except DomainError as refused:
            raise forms.ValidationError(refused.detail) from None


class ReferenceActions:
    """List actions that ask for a reference first (``_with_reference``), finance's."""

    def _with_reference(self, request, queryset, recording: Recording):
        """A list action that asks for a payment's reference first (its form), then records
        it on each chosen row through ``recording.record``."""
        form = ReferenceForm(request.POST if "apply" in request.POST else None)
        form.fields["reference"].label = recording.label
        form.fields["reference"].help_text = recording.help_text
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/billing/record_reference.html",
                {
                    **self.admin_site.each_context(request),
                    "title": recording.title,
                    "intro": recording.intro,
                    "action": recording.action,
                    "button": recording.button,
                    "rows": [(row.pk, recording.describe(row)) for row in queryset.order_by("pk")],
                    "form": form,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                },
            )
        for row in queryset.order_by("pk"):
            try:
                result = recording.record(
                    row,
                    reference=form.cleaned_data["reference"],
                    actor=request.user,
                    request=request,
                )
            except DomainError as exc:
                self.message_user(request, f"{row}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, recording.done.format(result=result), messages.SUCCESS)
        return None

    def has_collect_permission(self, request) -> bool:
        return request.user.has_perm("billing.collect_invoice")


class InvoicePaymentActions(ReferenceActions):
    @admin.action(
        description="Retry payment now (charge the card on file)", permissions=["collect"]
    )
    def retry_payment(self, request, queryset):
        """Two steps, as finalizing (it charges the tenant's card now, for good): the action
        lists each chosen invoice with what it asks, or why it cannot be charged now
        (``collection.retry_refusal``), and asks; only the confirming POST (``post=yes``)
        charges, each through ``retry_invoice_payment``, with a message per invoice."""
        if request.POST.get("post") != "yes":

            def described(invoices) -> dict[int, dict]:
                return {invoice.pk: charged_as(invoice) for invoice in invoices}

            def charged_as(invoice) -> dict:
                refusal = collection.retry_refusal(invoice)
                due = format_amount(invoice.amount_due, invoice.currency)
                return {"due": due, "refusal": refusal.detail if refusal else ""}

            return self._confirmation(request, queryset, "retry_payment", described)
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
        return self._with_reference(request, queryset, OFFLINE_PAYMENT)

    @admin.action(
        description="Record money paid back (credit notes owing it, with the transfer's reference)",
        permissions=["collect"],
    )
    def record_money_paid_back(self, request, queryset):
        return self._with_reference(request, queryset, MONEY_PAID_BACK)
