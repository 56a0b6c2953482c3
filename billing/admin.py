"""Finance in the admin (finance group, TOTP): invoices with their lines, filtered by period,
status, kind, tenant, currency and vendor; finalize now, void, credit notes (whole or chosen
lines) and adjustment lines on drafts. Every action goes through ``billing.invoicing``
(audited). The changelist links to the finance pages (exports, vendor payouts, charts:
billing/finance_admin.py) through templates/admin/billing/invoice/change_list.html."""

import logging
from datetime import datetime
from io import BytesIO
from uuid import UUID, uuid4

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from billing import invoice_builder, invoice_documents, invoicing, money_back
from billing.admin_payments import (
    MONEY_SETTLED,
    PAYMENT_ACTIONS,
    InvoicePaymentActions,
    ReferenceActions,
)
from billing.documents.document import unit_price
from billing.errors import (
    AdjustmentAlreadyAdded,
    AdjustmentTokenMissing,
    InvalidAdjustment,
    InvalidPeriod,
    NotACardPayment,
)
from billing.models import (
    BillingAccount,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    MoneyToGiveBack,
    line_agent,
)
from billing.payout_queries import has_payouts_filter
from billing.periods import month_label, parse_month
from edgeplug.core.admin import (
    TENANT_FILTER,
    ChoicesFilter,
    FilterParametersChecked,
    KeptInput,
    ReadOnlyAdminMixin,
    action_confirmation,
    filter_ignored,
    object_page,
    object_url,
)
from edgeplug.errors import DomainError
from edgeplug.tenancy.models import StaffGroup, Tenant
from edgeplug.tenancy.permissions import in_staff_group
from edgeplug.text import ascii_decimal, ascii_integer
from marketplace.admin import MoneyShownMixin, money_column
from marketplace.pricing import currency_exponent, format_amount, major_units, to_minor_units

logger = logging.getLogger(__name__)


class PeriodFilter(admin.SimpleListFilter):
    """``?period=YYYY-MM``; a month that cannot be read is ignored with a warning (a typed or
    stale URL shows the whole list, not an error page)."""

    title = "period"
    parameter_name = "period"

    def lookups(self, request, model_admin):
        months = {
            month_label(m): month_label(m) for m in Invoice.objects.dates("period_start", "month")
        }
        asked = self.value()
        if asked and asked not in months and self._asked[0] is not None:
            # A month without invoices (a finance page's link, say) is shown chosen, saying
            # so, rather than "All" over an empty list.
            months[asked] = f"{asked} (no invoices)"
        return sorted(months.items(), reverse=True)

    @cached_property
    def _asked(self) -> tuple[datetime | None, str]:
        """The month ``?period=`` names, else why it names none: read once, for the choices
        and for the list."""
        try:
            return parse_month(self.value()), ""
        except InvalidPeriod as refusal:
            return None, refusal.detail

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        month, why_not = self._asked
        if month is None:
            filter_ignored(request, self.parameter_name, why_not)
            return queryset
        return queryset.filter(period_start__year=month.year, period_start__month=month.month)


class VendorFilter(admin.SimpleListFilter):
    """Invoices billing at least one agent of the chosen vendor: a tenant with payouts (a
    vendor, or a former one that keeps its agents), as finance's payouts page lists them."""

    title = "vendor"
    parameter_name = "vendor"

    @staticmethod
    def vendors():
        return Tenant.objects.filter(has_payouts_filter(""))

    def lookups(self, request, model_admin):
        return list(self.vendors().order_by("name").values_list("pk", "name"))

    def queryset(self, request, queryset):
        chosen = self.value()
        if not chosen:
            return queryset
        vendor = ascii_integer(chosen)
        if vendor is None or not self.vendors().filter(pk=vendor).exists():
            # Typed, or a vendor no longer: said, as every filter of the list says its own.
            filter_ignored(request, self.parameter_name, f"{chosen!r} names no vendor.")
            return queryset
        lines = InvoiceLine.objects.alias(vendor=line_agent("tenant_id"))
        return queryset.filter(Exists(lines.filter(invoice=OuterRef("pk"), vendor=vendor)))


class MoneyBackFilter(ChoicesFilter):
    """Credit notes of paid invoices by whether their money went back (billing.money_back):
    ``owed`` lists what finance still has to pay back, or look into (a card refund failing)."""

    title = "money back"
    parameter_name = "money_back"
    ways = {
        "owed": ("owed", lambda notes: notes.owing_money_back()),
        "paid_back": ("paid back", lambda notes: notes.paid_money_back()),
    }


class InvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceLine
    fk_name = "invoice"
    extra = 0
    fields = (
        "position",
        "kind",
        "description",
        "quantity",
        "unit_amount_shown",
        "amount_shown",
        "is_paid",
        "usage_seconds",
        "breakdown_shown",
    )
    readonly_fields = fields
    ordering = ("position", "id")
    amount_shown = money_column("amount", currency=lambda line: line.invoice.currency)

    @admin.display(description="breakdown")
    def breakdown_shown(self, line):
        # In major units, as the e-invoice's line note says it (not the stored minor units).
        currency = line.invoice.currency
        return (
            invoice_documents.breakdown_text(line.breakdown, currency)
            or self.get_empty_value_display()
        )

    @admin.display(description="unit amount")
    def unit_amount_shown(self, line):
        # Unrounded (a tier may cost a fraction of a cent an hour), as the documents print it.
        currency = line.invoice.currency
        return f"{unit_price(line.unit_amount, currency)} {currency}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice")


@admin.register(Invoice)
class InvoiceAdmin(
    FilterParametersChecked,
    InvoicePaymentActions,
    MoneyShownMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = (
        "label",
        "tenant",
        "kind",
        "period",
        "total_display",
        "status",
        "finalize_after_display",
    )
    list_filter = (
        PeriodFilter,
        "status",
        "kind",
        "currency",
        TENANT_FILTER,
        VendorFilter,
        MoneyBackFilter,
    )
    search_fields = ("number", "tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
    inlines = [InvoiceLineInline]
    actions = ["finalize_now", "credit_in_full", "resend_email", *PAYMENT_ACTIONS]
    # No readonly_fields list: ReadOnlyAdminMixin makes the page view-only, so Django shows
    # every field of the model read-only, in the model's order (a list kept here would be a
    # second copy of the model to keep in step). Amounts as the currency writes them
    # ("152.00 EUR"), not in minor units (15200), which finance read as a hundred times the money.
    money_fields = Invoice.MONEY_FIELDS

    @admin.display(description="invoice", ordering="number")
    def label(self, obj):
        return obj.number or f"draft {obj.pk}"

    @admin.display(description="period", ordering="period_start")
    def period(self, obj):
        return month_label(obj.period_start)

    @admin.display(description="total", ordering="total")
    def total_display(self, obj):
        return format_amount(obj.total, obj.currency)

    # A date, not Django's long date-time: with the navigation sidebar and the filters beside
    # it, the list must fit a 1280 px window (the total carries the currency, so no column
    # of its own; the currency filter stays).
    @admin.display(description="finalize after", ordering="finalize_after")
    def finalize_after_display(self, obj):
        return f"{obj.finalize_after:%Y-%m-%d}" if obj.finalize_after else "-"

    # --- changelist actions -------------------------------------------------------------------

    def _each(self, request, queryset, action, done: str, **options):
        """Run one invoicing action on each chosen invoice as the staff user; ``done`` formats
        the message of each success with ``invoice`` and ``result``."""
        for invoice in queryset.order_by("id"):
            try:
                result = action(invoice, actor=request.user, request=request, **options)
            except DomainError as exc:
                self.message_user(request, f"{invoice}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, done.format(invoice=invoice, result=result))

    @admin.action(description="Finalize now (number and freeze)", permissions=["finalize"])
    def finalize_now(self, request, queryset):
        """Two steps, as the credit notes and refunds (finalizing sends the invoice and
        charges the tenant's card, for good): the action lists each chosen draft with its
        total as finalizing would make it, or why it cannot be finalized now
        (``invoicing.finalize_previews``), and asks; only the confirming POST (``post=yes``)
        finalizes, each through ``finalize_invoice``, with a message per invoice."""
        if request.POST.get("post") != "yes":
            return self._finalize_confirmation(request, queryset)
        self._each(request, queryset, invoicing.finalize_invoice, "Finalized as {result.number}.")
        return None  # back to the list, with its filters and the messages

    def _finalize_confirmation(self, request, queryset):
        def described(invoices) -> dict[int, dict]:
            previews = invoicing.finalize_previews(invoices)
            return {invoice.pk: finalized_as(invoice, previews[invoice.pk]) for invoice in invoices}

        def finalized_as(invoice, preview) -> dict:
            if preview.refusal is not None:
                return {"total": "-", "refusal": preview.refusal.detail}
            return {"total": format_amount(preview.total, invoice.currency), "refusal": ""}

        return self._confirmation(request, queryset, "finalize_now", described)

    @admin.action(description="Credit note for the whole invoice", permissions=["credit"])
    def credit_in_full(self, request, queryset):
        """Two steps, as the refunds (a credit note of a paid invoice pays money back): the
        action lists what each chosen invoice's note would give back and asks, with a reason;
        only the confirming POST (``post=yes``) issues the notes, each through
        ``issue_credit_note``, with a message per invoice."""
        if request.POST.get("post") != "yes":
            return self._credit_confirmation(request, queryset)
        self._each(
            request,
            queryset,
            invoicing.issue_credit_note,
            "{invoice}: credit note {result.number}.",
            reason=request.POST.get("reason", "").strip() or "credited in full in the admin",
        )
        return None  # back to the list, with its filters and the messages

    def _credit_confirmation(self, request, queryset):
        """Each chosen invoice with what its credit note would give back, as
        ``issue_credit_note`` would issue it (``invoicing.whole_invoice_credits``), and whether
        that is money owed back (paid), or why none would be issued; a reason field and a
        Confirm button posting the creditable ones back to the list."""

        def described(invoices) -> dict[int, dict]:
            given = invoicing.whole_invoice_credits(invoices)
            return {invoice.pk: credited_as(invoice, given[invoice.pk]) for invoice in invoices}

        def credited_as(invoice, given: int | DomainError) -> dict:
            row = {"money_back": invoice.status == InvoiceStatus.PAID}
            if isinstance(given, DomainError):
                return {**row, "given": "", "refusal": given.detail}
            return {**row, "given": format_amount(given, invoice.currency), "refusal": ""}

        return self._confirmation(request, queryset, "credit_in_full", described)

    # The confirmation page of each list action that asks first: its template, title and
    # crumb, what its Confirm button does, and what it says when it applies to none.
    _CONFIRMATIONS = {
        "finalize_now": {
            "template": "admin/billing/invoice/finalize_confirmation.html",
            "title": "Finalize invoices now",
            "step": "Finalize now",
            "confirm": ("finalize", "invoice"),
            "none_text": "None of the chosen invoices can be finalized now.",
        },
        "credit_in_full": {
            "template": "admin/billing/invoice/credit_confirmation.html",
            "title": "Credit invoices in full",
            "step": "Credit note for the whole invoice",
            "confirm": ("issue", "credit note"),
            "none_text": "None of the chosen invoices can be credited.",
        },
        "resend_email": {
            "template": "admin/billing/invoice/resend_confirmation.html",
            "title": "Resend invoice emails",
            "step": "Resend the invoice email",
            "confirm": ("email", "invoice"),
            "none_text": "None of the chosen invoices can be emailed.",
        },
        "retry_payment": {  # billing/admin_payments.py
            "template": "admin/billing/invoice/retry_confirmation.html",
            "title": "Retry payments now",
            "step": "Retry payment now",
            "confirm": ("charge", "invoice"),
            "none_text": "None of the chosen invoices can be charged now.",
        },
    }

    def _confirmation(self, request, queryset, action: str, described):
        """The first step of the list ``action`` (``action_confirmation``, its page as
        ``_CONFIRMATIONS`` says): a row per chosen invoice with what ``described`` says of it
        (its ``refusal``, empty when the action applies), and a Confirm button posting back
        those it applies to. ``described`` is given all the chosen invoices at once and
        answers by invoice id: "Select all" may choose thousands, so it reads what it needs
        of them in a few queries, not a few each."""
        invoices = list(queryset.select_related("tenant").order_by("pk"))
        said = described(invoices)
        rows = [{"invoice": invoice, **said[invoice.pk]} for invoice in invoices]
        confirmed = [row["invoice"].pk for row in rows if not row["refusal"]]
        page = dict(self._CONFIRMATIONS[action])
        verb, noun = page.pop("confirm")
        return action_confirmation(
            self,
            request,
            rows=rows,
            confirmed=confirmed,
            action=action,
            confirm_label=f"Confirm: {verb} {len(confirmed)} {noun}{pluralize(len(confirmed))}",
            back_text="Back to the invoices",
            **page,
        )

    @admin.action(description="Resend the invoice email (with its PDF)", permissions=["finalize"])
    def resend_email(self, request, queryset):
        """Two steps, as the other list actions that reach the tenant (a selection of many
        invoices is many emails to customers): the action lists whom each chosen invoice
        would be emailed to, or why it would not (``invoicing.resend_recipients``), and asks;
        only the confirming POST (``post=yes``) sends, each through
        ``resend_invoice_email``, with a message per invoice."""
        if request.POST.get("post") != "yes":
            return self._resend_confirmation(request, queryset)

        def resend(invoice, **kwargs):
            return ", ".join(invoicing.resend_invoice_email(invoice, **kwargs))

        self._each(request, queryset, resend, "{invoice}: email queued to {result}.")
        return None  # back to the list, with its filters and the messages

    def _resend_confirmation(self, request, queryset):
        def described(invoices) -> dict[int, dict]:
            found = invoicing.resend_recipients_of(invoices)
            return {invoice.pk: emailed_to(found[invoice.pk]) for invoice in invoices}

        def emailed_to(recipients: list[str] | DomainError) -> dict:
            if isinstance(recipients, DomainError):
                return {"to": "-", "refusal": recipients.detail}
            return {"to": ", ".join(recipients), "refusal": ""}

        return self._confirmation(request, queryset, "resend_email", described)

    def has_finalize_permission(self, request) -> bool:
        return request.user.has_perm("billing.finalize_invoice")

    def has_credit_permission(self, request) -> bool:
        return request.user.has_perm("billing.credit_invoice")

    # --- one invoice: the forms below the change page ------------------------------------------

    def get_urls(self):
        return [
            object_url(self, "finalize", require_POST(self.finalize_view)),
            object_url(self, "void", require_POST(self.void_view)),
            object_url(self, "credit", require_POST(self.credit_view)),
            object_url(self, "adjust", require_POST(self.adjust_view)),
            object_url(self, "pdf", self.pdf_view),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        invoice = context.get("original")
        user = request.user
        draft = bool(invoice and invoice.status == InvoiceStatus.DRAFT)
        finalizer = draft and user.has_perm("billing.finalize_invoice")
        # A draft of a month still running: when it can be finalized, instead of a button
        # every click of which is refused (as a run's page says why it cannot be decided).
        too_early = invoicing.too_early_to_finalize(invoice, timezone.now()) if finalizer else None
        creditor = bool(invoice and invoice.is_creditable) and user.has_perm(
            "billing.credit_invoice"
        )
        credit_lines = _credit_lines(invoice) if creditor else []
        # Every line given back already: said, instead of a form every click of which is refused.
        nothing_left = creditor and all(left == 0 for *_, left in credit_lines)
        context.update(
            can_finalize=finalizer and too_early is None,
            finalize_refusal=too_early.detail if too_early else "",
            can_adjust=draft and user.has_perm("billing.adjust_invoice"),
            can_void=bool(invoice and invoice.is_voidable)
            and user.has_perm("billing.void_invoice"),
            can_credit=creditor and not nothing_left,
            credit_refusal=f"Every line of {invoice.number} is credited in full already."
            if nothing_left
            else "",
            credit_lines=credit_lines,
            kept=_KEPT.read(request, invoice),
            void_reason_max=Invoice._meta.get_field("void_reason").max_length,
            credit_reason_max=invoicing.CREDIT_REASON_MAX,
            description_max=invoice_builder.DESCRIPTION_MAX,
            adjust_example=_example_amount(invoice.currency) if invoice else "",
            # The adjustment form's one-time token, new each time it is shown (adjust_view).
            adjust_token=uuid4(),
            can_download_pdf=bool(invoice and not invoice_documents.document_refusal(invoice))
            and in_staff_group(user, StaffGroup.FINANCE),
            # The forms' actions keep the change list's filters, and so does the page after.
            action_urls={
                name: object_page(self, request, invoice.pk, name)
                for name in ("finalize", "void", "credit", "adjust")
            }
            if invoice
            else {},
        )
        return super().render_change_form(request, context, *args, **kwargs)

    def pdf_view(self, request, object_id):
        """The finalized invoice's PDF (PDF/A-3 with its e-invoice XML), as the tenant gets it."""
        if not in_staff_group(request.user, StaffGroup.FINANCE):
            raise PermissionDenied("Invoice PDFs are for the finance group.")
        invoice = get_object_or_404(Invoice, pk=object_id)
        try:
            pdf = invoice_documents.invoice_pdf(invoice)
        except DomainError as exc:
            # As the API answers it (409 invoice_not_finalized, invoice_void; 422 for a document
            # its stored data cannot make): the change page with the refusal where the admin
            # shows every other, its code in the message's tags.
            if exc.status >= 500:  # ours (the e-invoice we built fails its checks): logged
                logger.error("invoice %s: no PDF", invoice.pk, exc_info=True)
            messages.error(request, exc.detail, extra_tags=exc.code)
            response = self.change_view(request, str(object_id))
            response.status_code = exc.status
            return response
        return FileResponse(
            BytesIO(pdf),
            as_attachment=True,
            filename=f"{invoice.number}.pdf",
            content_type="application/pdf",
        )

    def _act(self, request, object_id, permission: str, act) -> object:
        """Run one of the change page's actions (``act``), then back to the change page with
        its message. A refused one keeps what was typed: its form shows it again there."""
        if not request.user.has_perm(f"billing.{permission}"):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=object_id)
        try:
            message = act(invoice)
        except AdjustmentAlreadyAdded as exc:
            # The first sending added it: the form is not filled in again to be sent again.
            messages.warning(request, exc.detail)
        except DomainError as exc:
            messages.error(request, exc.detail)
            if (form := permission.removesuffix("_invoice")) in _KEPT.forms:
                _KEPT.keep(request, invoice, form, exc)
        else:
            messages.success(request, message)
        return redirect(object_page(self, request, object_id, "change"))

    def finalize_view(self, request, object_id):
        def act(invoice):
            done = invoicing.finalize_invoice(invoice, actor=request.user, request=request)
            return f"Finalized as {done.number}."

        return self._act(request, object_id, "finalize_invoice", act)

    def void_view(self, request, object_id):
        def act(invoice):
            done = invoicing.void_invoice(
                invoice, reason=request.POST.get("reason", ""), actor=request.user, request=request
            )
            return f"{done.number} voided."

        return self._act(request, object_id, "void_invoice", act)

    def credit_view(self, request, object_id):
        def act(invoice):
            note = invoicing.issue_credit_note(
                invoice,
                line_ids=request.POST.getlist("line"),
                reason=request.POST.get("reason", ""),
                actor=request.user,
                request=request,
            )
            return f"Credit note {note.number} issued ({format_amount(note.total, note.currency)})."

        return self._act(request, object_id, "credit_invoice", act)

    def adjust_view(self, request, object_id):
        def act(invoice):
            form_token = _form_token(request.POST.get("form_token", ""))
            amount = _minor_units(request.POST.get("amount", ""), invoice.currency)
            invoicing.add_adjustment_line(
                invoice,
                description=request.POST.get("description", ""),
                amount=amount,
                form_token=form_token,
                actor=request.user,
                request=request,
            )
            return f"Adjustment of {format_amount(amount, invoice.currency)} added."

        return self._act(request, object_id, "adjust_invoice", act)


# What a refused action's form shows again on the change page (``_act``).
_KEPT = KeptInput(
    "billing_invoice",
    {
        "finalize": {},
        "adjust": {"description": "", "amount": ""},
        "credit": {"reason": "", "line": []},
        "void": {"reason": ""},
    },
)


def _credit_lines(invoice: Invoice) -> list[tuple]:
    """The credit note form's choices: each line, its amount as the currency writes it, what
    credit notes gave back of it already ("" when nothing; a credit note gives back the
    rest), what is left of it to credit when a later month's lower price gave part of that
    back ("" otherwise), and what is left (minor units, ``invoicing.creditable_of``)."""
    rows = []
    lines = list(invoice.lines.order_by("position", "id"))
    credited_of = invoicing.credited_of(lines)
    left_of = invoicing.creditable_of(lines, credited=credited_of)
    for line in lines:
        credited, left = credited_of[line.pk], left_of[line.pk]
        given = format_amount(credited, invoice.currency) if credited else ""
        amount = format_amount(line.amount, invoice.currency)
        capped = format_amount(left, invoice.currency) if left != line.amount - credited else ""
        rows.append((line, amount, given, capped, left))
    return rows


def _form_token(text: str) -> UUID:
    """The adjustment form's one-time token as the change page served it (``adjust_token``):
    without it a second sending of the form could not be told from a new line."""
    try:
        return UUID(text)
    except ValueError:
        raise AdjustmentTokenMissing(
            "The adjustment was sent without its one-time token: nothing was added, as it "
            "could not be told from the same form sent twice. Check it below and add it again."
        ) from None


def _minor_units(text: str, currency: str) -> int:
    """``"-12.50"`` EUR → ``-1250``: people type amounts in the currency, not in cents, and
    are told so in the currency (a zero too)."""
    typed = ascii_decimal(text)
    if typed is None:
        reason = "is not a number in the digits 0-9"
    else:
        try:
            amount = to_minor_units(typed, currency)
        except ValueError as refused:
            reason = str(refused)
        else:
            if amount:
                return amount
            reason = "is zero"
    raise InvalidAdjustment(
        f"The amount {reason}: enter an amount in {currency} with at most "
        f"{currency_exponent(currency)} decimals, e.g. {_example_amount(currency)}.",
        field="amount",
    )


def _example_amount(currency: str) -> str:
    """How an adjustment is typed in ``currency``: -12.50 EUR, -12 JPY, -12.500 KWD."""
    exponent = currency_exponent(currency)
    return major_units(-12 * 10**exponent - (5 * 10 ** (exponent - 1) if exponent else 0), currency)


@admin.register(BillingAccount)
class BillingAccountAdmin(FilterParametersChecked, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("tenant", "legal_name", "country", "currency", "tax_rate", "reverse_charge")
    list_filter = ("country", "currency", "reverse_charge")
    search_fields = ("tenant__slug", "legal_name", "tax_id")
    readonly_fields = ("tenant", *BillingAccount.DETAIL_FIELDS)


class SettledFilter(ChoicesFilter):
    title = "settled"
    parameter_name = "settled"
    ways = {
        "no": ("open", lambda rows: rows.filter(settled_by__isnull=True)),
        "yes": ("settled", lambda rows: rows.filter(settled_by__isnull=False)),
    }


@admin.register(MoneyToGiveBack)
class MoneyToGiveBackAdmin(
    FilterParametersChecked, ReferenceActions, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """Finance's list of money to give back outside EdgePlug (``MoneyToGiveBack``): newest
    first, open or settled, by kind and tenant, each with the amount, the Stripe object it
    concerns, what to do and, once finance recorded it, what settled it (list action *Record
    settled*; a card payment's refunded by EdgePlug, *Refund in Stripe*); the audit event
    itself, read-only, behind each row."""

    list_display = (
        "created_at",
        "kind",
        "tenant",
        "target",
        "amount",
        "stripe_object",
        "to_do",
        "settled",
    )
    list_filter = (SettledFilter, "action", TENANT_FILTER)
    search_fields = ("target", "details__payment_intent", "details__refund")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "action", "tenant", "target", "actor_email", "details")
    fields = readonly_fields
    actions = ["settle", "refund_in_stripe"]

    def get_queryset(self, request):
        # The tenant of each row (a nullable link, which Django's own joins skip), for the
        # list and the actions' confirmations alike.
        return super().get_queryset(request).with_settlement().select_related("tenant")

    @admin.action(
        description="Record settled (with the refund's or transfer's reference)",
        permissions=["collect"],
    )
    def settle(self, request, queryset):
        return self._with_reference(request, queryset, MONEY_SETTLED)

    @admin.action(description="Refund in Stripe", permissions=["collect"])
    def refund_in_stripe(self, request, queryset):
        """Two steps, as the orders' *Refund in full*: the action lists what each chosen row
        would refund, on which PaymentIntent, or why it would not; only the confirming POST
        (``post=yes``) refunds, each row through ``money_back.refund_in_stripe``, with a
        message per row (other kinds: left for *Record settled*)."""
        if request.POST.get("post") != "yes":
            return self._refund_confirmation(request, queryset)
        for event in queryset.order_by("pk"):
            named = f"{capfirst(event.target)} ({self.kind(event)})"
            try:
                done = money_back.refund_in_stripe(event, actor=request.user, request=request)
            except NotACardPayment as exc:
                self.message_user(request, f"{named}: {exc.detail}", messages.WARNING)
            except DomainError as exc:
                self.message_user(request, f"{named}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{named}: {event.amount_text} refunded in Stripe ({done.settled_by}), "
                    "settled.",
                    messages.SUCCESS,
                )
        return None  # back to the list, with its filters and the messages

    def _refund_confirmation(self, request, queryset):
        """Each chosen row with what Confirm would do to it, and a Confirm button posting them
        back to the list, its filters kept (a Cancel link goes back to it)."""
        rows = [
            {
                "event": event,
                "kind": self.kind(event),
                "intent": (event.details or {}).get("payment_intent") or "-",
                "outcome": _refund_outcome(event),
            }
            for event in queryset.order_by("pk")
        ]
        refunds = sum(1 for row in rows if row["outcome"] is None)
        return action_confirmation(
            self,
            request,
            "admin/billing/moneytogiveback/refund_confirmation.html",
            title="Refund in Stripe",
            step="Refund in Stripe",
            rows=rows,
            # All chosen rows: each gets its message (other kinds: left for Record settled).
            confirmed=[row["event"].pk for row in rows] if refunds else [],
            action="refund_in_stripe",
            confirm_label=f"Confirm: refund {refunds} in Stripe",
            none_text="None of the chosen rows can be refunded in Stripe.",
            back_text="Back to money to give back",
        )

    @admin.display(description="what", ordering="action")
    def kind(self, event):
        return event.action.replace("_", " ")

    @admin.display(description="amount")
    def amount(self, event):
        return event.amount_text

    @admin.display(description="Stripe object")
    def stripe_object(self, event):
        details = event.details or {}
        return details.get("payment_intent") or details.get("refund") or details.get("also", "-")

    @admin.display(description="to do")
    def to_do(self, event):
        return MoneyToGiveBack.TO_DO[event.action]

    @admin.display(description="settled by", ordering="settled_by")
    def settled(self, event):
        return event.settled_by or "-"


def _refund_outcome(event: MoneyToGiveBack) -> str | None:
    """Why *Refund in Stripe* would not refund the row, or None when it would."""
    refusal = money_back.refund_refusal(event)
    return None if refusal is None else f"no: {refusal.detail}"
