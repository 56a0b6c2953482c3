"""Staff views of plans, orders and entitlements; finance refunds orders in full here (after a
confirmation page), reviewers decide on workflow packages and hide reviews."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Case, IntegerField, Value, When
from django.template.defaultfilters import pluralize
from django.utils.html import format_html, format_html_join

from billing.invoice_documents import breakdown_text
from billing.invoicing import RefundCredit, refund_credits
from edgeplug.core.admin import (
    TENANT_FILTER,
    DecidedInAdminMixin,
    FilterParametersChecked,
    KeptInput,
    ReadOnlyAdminMixin,
    action_confirmation,
)
from edgeplug.errors import DomainError
from edgeplug.reasons import require_reason
from marketplace import orders, reviews
from marketplace.models import (
    Download,
    Entitlement,
    Order,
    PricePlan,
    Review,
    ReviewStatus,
    WorkflowPackage,
)
from marketplace.portal.plan_text import describe_plan
from marketplace.pricing import format_amount
from marketplace.wpk import review_refusal, review_wpk


def shown_amount(amount: int, currency: str) -> str:
    """An amount for people: ``1900, "USD"`` → "19.00 USD"; with no currency, "free"."""
    return format_amount(amount, currency) if currency else "free"


def money_column(name: str, currency=lambda row: row.currency):
    """An admin column of the amount field ``name`` (minor units) as its currency writes it:
    staff read "15200" as fifteen thousand."""

    @admin.display(description=name.replace("_", " "), ordering=name)
    def shown(self, obj):
        return shown_amount(getattr(obj, name), currency(obj))

    return shown


class MoneyShownMixin:
    """A view-only page whose amount fields (integer minor units: ``money_fields``) read as
    their currency writes them, in the list (``<name>_shown`` columns) and on the detail page,
    where Django would print "4900 minor units". ``shown_instead`` names other fields the
    detail page shows through a column of the admin (stored JSON in words)."""

    money_fields: tuple[str, ...] = ()
    shown_instead: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.money_fields:
            setattr(cls, f"{name}_shown", money_column(name))

    def get_fields(self, request, obj=None):
        instead = {**{name: f"{name}_shown" for name in self.money_fields}, **self.shown_instead}
        return [instead.get(name, name) for name in super().get_fields(request, obj)]


def terms_in_words(plan: PricePlan):
    """A plan's terms as the vendor's pricing page says them ("0.05 EUR per agent-hour")."""
    return format_html(
        "<ul>{}</ul>",
        format_html_join("", "<li>{}</li>", ((line,) for line in describe_plan(plan))),
    )


class ReadOnlyAdmin(FilterParametersChecked, MoneyShownMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Commerce rows change only through their actions, never by editing."""


@admin.register(PricePlan)
class PricePlanAdmin(ReadOnlyAdmin):
    list_display = ("agent", "key", "version", "kind", "amount_shown", "is_current")
    list_filter = ("kind", "is_current")
    search_fields = ("agent__name", "key", "name")
    money_fields = ("amount",)
    shown_instead = {"terms": "terms_shown"}

    @admin.display(description="terms")
    def terms_shown(self, plan):
        return terms_in_words(plan)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "tenant",
        "agent",
        "plan_shown",
        "seats",
        "amount_shown",
        "status",
    )
    list_filter = ("status", "currency", TENANT_FILTER)
    date_hierarchy = "created_at"
    search_fields = ("tenant__slug", "agent__name", "payment_intent_id", "idempotency_key")
    # plan__agent__tenant: each row's checkbox is labelled with the order's name, its vendor's
    list_select_related = ("tenant", "agent", "agent__tenant", "plan", "plan__agent__tenant")
    actions = ["refund_in_full"]
    money_fields = ("amount", "refunded_in_stripe", "lost_in_disputes")
    shown_instead = {"breakdown": "breakdown_shown"}
    # The PaymentIntent's client secret is for the paying customer alone (Stripe): its id,
    # shown, names it.
    exclude = ("client_secret",)

    @admin.display(description="plan", ordering="plan__key")
    def plan_shown(self, order):
        # Its key and version: the plan's name repeats the agent, a column of its own, and
        # pushed the amount and status out of a 1280 px window.
        return f"{order.plan.key} v{order.plan.version}"

    @admin.display(description="breakdown")
    def breakdown_shown(self, order):
        return breakdown_text(order.breakdown, order.currency) or self.get_empty_value_display()

    @admin.action(description="Refund in full (revokes the entitlement)", permissions=["refund"])
    def refund_in_full(self, request, queryset):
        """Two steps, as Django's "delete selected": the action shows what would be refunded
        and asks (``_refund_confirmation``); only the confirming POST (``post=yes``, with the
        ids the page listed as refundable) refunds, each order through ``refund_order``."""
        if request.POST.get("post") != "yes":
            return self._refund_confirmation(request, queryset)
        # In the order the page previewed their credit notes in (``refund_credits``).
        for order in queryset.order_by("pk"):
            try:
                refund = orders.refund_order(order, actor=request.user, request=request)
            except DomainError as exc:
                self.message_user(request, f"Order {order.pk}: {exc.detail}", messages.ERROR)
            else:
                note = refund.credit_note
                credited = (
                    f" Credit note {note.number} gives back invoice {note.credit_of.number}."
                    if note
                    else ""
                )
                self.message_user(
                    request, f"Order {order.pk} refunded.{credited}", messages.SUCCESS
                )
        return None  # back to the list, its messages shown

    def _refund_confirmation(self, request, queryset):
        """Each selected order (id, tenant, agent, amount, what the credit note of its
        invoice would give back, whether it can be refunded: only a completed one, its payment
        not under dispute), the money given back per currency (and what is taken off unpaid
        invoices), and a Confirm button posting the refundable ones' ids back to the list (a
        Cancel link goes back to it)."""
        chosen = list(queryset.select_related("tenant", "agent__tenant").order_by("pk"))
        # A completed order whose payment is under dispute is not refunded (``refund_order``).
        completed = [order for order in chosen if order.is_refundable]
        disputed = {pk: why.detail for pk, why in orders.dispute_refusals(completed).items()}
        refundable = [order.pk for order in completed if order.pk not in disputed]
        notes = refund_credits(refundable)
        rows = [
            {
                "order": order,
                "amount": _refund_amount_said(order),
                "credit_note": _credit_note_said(notes[order.pk])
                if order.pk in notes
                else ("none" if order.pk in refundable else ""),
                "refundable": order.pk in refundable,
                "disputed": disputed.get(order.pk, ""),
            }
            for order in chosen
        ]
        given: dict[str, int] = {}
        taken_off: dict[str, int] = {}
        for order in chosen:
            if order.pk in refundable and order.currency:
                given[order.currency] = given.get(order.currency, 0) + order.left_to_refund
        for note in notes.values():
            given[note.currency] = given.get(note.currency, 0) + note.paid_back
            taken_off[note.currency] = taken_off.get(note.currency, 0) + note.taken_off
        return action_confirmation(
            self,
            request,
            "admin/marketplace/order/refund_confirmation.html",
            title="Refund orders in full",
            step="Refund in full",
            rows=rows,
            confirmed=refundable,
            totals=[_given_back_said(given[c], taken_off.get(c, 0), c) for c in sorted(given)],
            action="refund_in_full",
            confirm_label=f"Confirm: refund {len(refundable)} order{pluralize(len(refundable))}",
            none_text="None of the selected orders can be refunded.",
            back_text="Back to the orders",
        )

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("marketplace.refund_order")


def _refund_amount_said(order) -> str:
    """What a refund in full of the order gives back: its price, or the rest of it once Stripe
    gave some back ("13.00 USD (of 19.00 USD: 6.00 USD given back already)")."""
    price = shown_amount(order.amount, order.currency)
    if not order.given_back_in_stripe or not order.is_refundable:
        return price
    left, given = order.left_to_refund, order.given_back_in_stripe
    return (
        f"{shown_amount(left, order.currency)} (of {price}: "
        f"{shown_amount(given, order.currency)} given back already)"
    )


def _credit_note_said(note: RefundCredit) -> str:
    """What the credit note of the order's invoice gives back beyond the order's price (the
    VAT the invoice charged on it), and how."""
    if note.paid_back:
        how = (
            f"refunded to the card that paid invoice {note.invoice}"
            if note.to_card
            else f"paid back by bank transfer (credit note of {note.invoice})"
        )
        return f"{format_amount(note.paid_back, note.currency)} {how}"
    if note.taken_off:
        return (
            f"{format_amount(note.taken_off, note.currency)} taken off what invoice "
            f"{note.invoice} asks"
        )
    return f"nothing more (credit note of {note.invoice})"


def _given_back_said(given: int, taken_off: int, currency: str) -> str:
    """A currency's total given back (the orders' prices and the money their credit notes
    pay back), and what those notes take off unpaid invoices."""
    said = format_amount(given, currency)
    if taken_off:
        said += f", and {format_amount(taken_off, currency)} taken off what unpaid invoices ask"
    return said


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "tenant",
        "agent",
        "seats",
        "status",
        "valid_from",
        "valid_until",
        "cancelled_at",
    )
    # "Cancelled at: Not empty" lists the plans their tenants cancelled (marketplace.cancellation).
    list_filter = ("status", ("cancelled_at", admin.EmptyFieldListFilter))
    search_fields = ("tenant__slug", "agent__name")
    list_select_related = ("tenant", "agent", "agent__tenant")
    shown_instead = {"plan_snapshot": "plan_as_bought"}

    @admin.display(description="plan as bought")
    def plan_as_bought(self, entitlement):
        # The terms copied onto the entitlement at purchase, which later versions never change.
        snapshot = entitlement.plan_snapshot
        bought = PricePlan(**{name: snapshot[name] for name in PricePlan.TERMS_FIELDS})
        return format_html(
            "{} ({} v{}){}", bought.name, bought.key, bought.version, terms_in_words(bought)
        )


@admin.register(Download)
class DownloadAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "version", "tenant", "kind")
    list_filter = ("kind",)
    search_fields = ("version__agent__name", "tenant__slug")
    list_select_related = ("version", "version__agent", "version__agent__tenant", "tenant")


class HideReviewForm(forms.ModelForm):
    hidden_reason = forms.CharField(
        max_length=500,
        required=False,
        label="Hide with reason",
        help_text=(
            "Give a reason to hide the review from the catalogue (on a hidden review, a new "
            "reason replaces the old one); clear it to show it."
        ),
        # The page sends the reason it showed: saving a page left open changes only what its
        # reviewer changed there, never undoes another's decision made since.
        show_hidden_initial=True,
    )

    class Meta:
        model = Review
        fields = ["hidden_reason"]

    def clean_hidden_reason(self) -> str:
        """Cleared, it shows the review; else the reason as the action reads it
        (``require_reason``), its refusal said at the field: a reason of invisible characters
        alone passed the form and was refused in save_model, a 500."""
        reason = self.cleaned_data["hidden_reason"]
        if not reason:
            return ""
        try:
            return require_reason(
                reason, max_length=Review._meta.get_field("hidden_reason").max_length
            )
        except DomainError as refusal:
            raise forms.ValidationError(refusal.detail, code=refusal.code) from None


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviewers hide a review with a reason (audited); nothing else about it is editable.
    The admin escapes the stored text on output like every template value."""

    form = HideReviewForm
    list_display = ("id", "agent", "tenant", "stars", "title", "hidden_at")
    list_filter = ("stars", "hidden_at")
    search_fields = ("title", "text", "agent__name", "tenant__slug")
    list_select_related = ("agent", "agent__tenant", "tenant")
    readonly_fields = (
        "agent",
        "tenant",
        "stars",
        "title",
        "text",
        "vendor_reply",
        "hidden_at",
        "hidden_by",
    )
    fields = (*readonly_fields, "hidden_reason")

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "hidden_reason" not in form.changed_data:
            return  # as the page showed it: whatever another reviewer decided since stands
        reason = form.cleaned_data["hidden_reason"]
        if reason:
            reviews.hide_review(obj, reason, actor=request.user, request=request)
        else:
            reviews.show_review(obj, actor=request.user, request=request)


@admin.register(WorkflowPackage)
class WorkflowPackageAdmin(DecidedInAdminMixin, admin.ModelAdmin):
    """Reviewers read a workflow package and approve or reject it with a reason, through
    ``review_wpk`` (audited; never one of a tenant they belong to). Pending ones come first."""

    list_display = ("id", "name", "version", "vendor", "status", "created")
    list_filter = ("status", TENANT_FILTER)
    search_fields = ("name", "tenant__slug", "tenant__name")
    list_select_related = ("tenant",)
    ordering = (
        Case(
            When(status=ReviewStatus.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ).asc(),
        "-created_at",
        "-id",
    )
    fieldsets = (
        (None, {"fields": ("name", "version", "vendor", "status", "uploaded_by", "created_at")}),
        ("Signature", {"fields": ("digest", "key_id", "signature")}),
        ("Content", {"fields": ("document",)}),
        ("Review", {"fields": ("review_reason", "reviewed_at", "reviewer")}),
    )
    readonly_fields = flatten_fieldsets(fieldsets)
    change_form_template = "admin/marketplace/workflowpackage/change_form.html"
    review_action = staticmethod(review_wpk)
    # What a refused decision's form shows again on the change page.
    kept = KeptInput("workflow_package", {"decision": {"reason": ""}})

    @admin.display(description="signing key")
    def key_id(self, obj):
        return obj.signing_key.key_id

    @admin.display(description="content")
    def document(self, obj):
        """The signed content as indented JSON, escaped: its text is the vendor's."""
        text = json.dumps(obj.content, indent=2, ensure_ascii=False)
        return format_html('<pre class="edgeplug-document">{}</pre>', text)

    def refusal(self, obj):
        return review_refusal(obj)

    def says_refusal(self, obj) -> bool:
        # A pending package (its reviewer belongs to its tenant); a decided one shows its
        # decision in the Review section.
        return obj.status == ReviewStatus.PENDING

    def decision_name(self, obj) -> str:
        return f"Workflow package {obj}"
