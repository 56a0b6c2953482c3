"""Staff views of plans, orders and entitlements; finance refunds an order in full here."""

from django.contrib import admin, messages

from edgeplug.core.errors import DomainError
from marketplace import orders
from marketplace.models import Download, Entitlement, Order, PricePlan


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
                orders.refund_order(order, actor=request.user, request=request)
            except DomainError as exc:
                self.message_user(request, f"Order {order.pk}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Order {order.pk} refunded.", messages.SUCCESS)

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
