from django.urls import include, path

from billing.api import invoice_views, payout_views, usage_views, views

# Routes below a collection, mounted under its URL in urlpatterns.
payment_method_urls = [
    path("setup", views.SetupIntentCreate.as_view(), name="payment-method-setup"),
    path("<int:pk>", views.PaymentMethodDetail.as_view(), name="payment-method-detail"),
    path("<int:pk>/default", views.PaymentMethodDefault.as_view(), name="payment-method-default"),
]
invoice_urls = [
    path("upcoming", invoice_views.UpcomingInvoice.as_view(), name="invoice-upcoming"),
    path("<int:pk>", invoice_views.InvoiceDetail.as_view(), name="invoice-detail"),
    path("<int:pk>/pdf", invoice_views.InvoicePdf.as_view(), name="invoice-pdf"),
    path("<int:pk>/pay", invoice_views.InvoicePay.as_view(), name="invoice-pay"),
]
payout_urls = [
    # Before the JSON route: "2026-03.csv" would match <str:period> too.
    path(
        "<str:period>.csv",
        payout_views.VendorPayoutStatementCsv.as_view(),
        {"format": "csv"},
        name="vendor-payout-csv",
    ),
    path("<str:period>", payout_views.VendorPayoutStatement.as_view(), name="vendor-payout"),
]

urlpatterns = [
    path(
        "billing/payment-methods",
        views.PaymentMethodListCreate.as_view(),
        name="payment-methods",
    ),
    path("billing/payment-methods/", include(payment_method_urls)),
    path("usage/events", usage_views.UsageEvents.as_view(), name="usage-events"),
    path("usage", usage_views.TenantUsage.as_view(), name="usage"),
    path("vendor/usage", usage_views.VendorUsage.as_view(), name="vendor-usage"),
    path("vendor/payouts", payout_views.VendorPayouts.as_view(), name="vendor-payouts"),
    path("vendor/payouts/", include(payout_urls)),
    path(
        "devices/<int:pk>/usage-gaps",
        usage_views.DeviceUsageGaps.as_view(),
        name="device-usage-gaps",
    ),
    path("stripe/webhook", views.StripeWebhook.as_view(), name="stripe-webhook"),
    path("invoices", invoice_views.InvoiceList.as_view(), name="invoices"),
    path("invoices/", include(invoice_urls)),
    path("billing/account", invoice_views.BillingAccountView.as_view(), name="billing-account"),
]
