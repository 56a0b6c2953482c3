from django.urls import path

from billing.api import views

urlpatterns = [
    path(
        "billing/payment-methods",
        views.PaymentMethodListCreate.as_view(),
        name="payment-methods",
    ),
    path(
        "billing/payment-methods/setup",
        views.SetupIntentCreate.as_view(),
        name="payment-method-setup",
    ),
    path(
        "billing/payment-methods/<int:pk>",
        views.PaymentMethodDetail.as_view(),
        name="payment-method-detail",
    ),
    path(
        "billing/payment-methods/<int:pk>/default",
        views.PaymentMethodDefault.as_view(),
        name="payment-method-default",
    ),
    path("stripe/webhook", views.StripeWebhook.as_view(), name="stripe-webhook"),
]
