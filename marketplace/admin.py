"""Staff views of plans, orders and entitlements; finance refunds an order in full here."""

from django import forms
from django.contrib import admin, messages

from edgeplug.errors import DomainError
from marketplace import orders, reviews
from marketplace.models import Download, Entitlement, Order, PricePlan, Review


class ReadOnlyAdmin(admin.ModelAdmin):
    """Commerce rows change only through their actions, never by editing."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PricePlan)
class PricePlanAdmin(ReadOnlyAdmin):
    list_display = ("agent", "key", "version", "kind", "currency", "amount", "is_current")
    list_filter = ("kind", "is_current")
    search_fields = ("agent__name", "key", "name")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "tenant", "agent", "plan", "seats", "amount", "currency", "status")
    list_filter = ("status", "currency")
    search_fields = ("tenant__slug", "agent__name", "payment_intent_id", "idempotency_key")
    list_select_related = ("tenant", "agent", "agent__tenant", "plan", "plan__agent")
    actions = ["refund_in_full"]

    @admin.action(description="Refund in full (revokes the entitlement)", permissions=["refund"])
    def refund_in_full(self, request, queryset):
        for order in queryset:
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

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("marketplace.refund_order")


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = ("id", "tenant", "agent", "seats", "status", "valid_from", "valid_until")
    list_filter = ("status",)
    search_fields = ("tenant__slug", "agent__name")
    list_select_related = ("tenant", "agent", "agent__tenant")


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
    )

    class Meta:
        model = Review
        fields = ["hidden_reason"]


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
        reason = form.cleaned_data["hidden_reason"].strip()
        if reason:
            reviews.hide_review(obj, reason, actor=request.user, request=request)
        else:
            reviews.show_review(obj, actor=request.user, request=request)
