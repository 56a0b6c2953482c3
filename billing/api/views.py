"""Saved cards (/api/v1/billing/payment-methods) and the Stripe webhook."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import payments, webhooks
from billing.api import serializers as s
from billing.models import PaymentMethod
from edgeplug.core.schema import error_response
from edgeplug.core.serializers import refuse_body, validated
from edgeplug.tenancy.permissions import CanBuy
from edgeplug.tenancy.scoping import TenantScoped, get_for_request


# The saved-card views are for the tenant's admins and billing members. A comment, not a
# docstring: the OpenAPI schema would print a docstring as the description of every view.
class SavedCards(APIView):
    permission_classes = [CanBuy]


class PaymentMethodListCreate(TenantScoped, SavedCards, generics.ListAPIView):
    """List saved cards; POST a succeeded SetupIntent's id to save its card."""

    queryset = PaymentMethod.objects.all()
    serializer_class = s.PaymentMethodSerializer

    @extend_schema(
        request=s.RecordSetupSerializer,
        responses={
            201: s.PaymentMethodSerializer,
            400: error_response(
                400,
                "unknown_setup_intent: no setup intent of your tenant has that id (absent and "
                "another tenant's alike).",
            ),
            409: error_response(
                409,
                "setup_incomplete: the setup intent is not confirmed yet; payment_method_removed: "
                "its card was saved and then removed, and is not saved again.",
            ),
            502: error_response(502),
        },
    )
    def post(self, request):
        data = validated(s.RecordSetupSerializer, request)
        method = payments.record_setup(
            request.tenant, data["setup_intent"], actor=request.user, request=request
        )
        return Response(s.PaymentMethodSerializer(method).data, status=status.HTTP_201_CREATED)


class SetupIntentCreate(SavedCards):
    """Start saving a card: confirm the returned client_secret with Stripe.js."""

    @extend_schema(
        request=None, responses={201: s.SetupStartedSerializer, 502: error_response(502)}
    )
    def post(self, request):
        refuse_body(request)
        started = payments.start_setup(request.tenant)
        return Response(s.SetupStartedSerializer(started).data, status=status.HTTP_201_CREATED)


def _method(request, pk) -> PaymentMethod:
    """The saved card an operation acts on (removing it, making it the default): neither
    takes a body (``refuse_body``, once the card is found)."""
    method = get_for_request(PaymentMethod.objects.all(), request, pk=pk)
    refuse_body(request)
    return method


class PaymentMethodDetail(SavedCards):
    @extend_schema(
        responses={
            204: None,
            502: error_response(502, "payment_processor_error: the card is kept."),
        }
    )
    def delete(self, request, pk):
        payments.remove(_method(request, pk), actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PaymentMethodDefault(SavedCards):
    # POST only (no docstring: it would be the schema's description). It inherited the card's
    # DELETE, so DELETE …/default removed the card.

    @extend_schema(request=None, responses=s.PaymentMethodSerializer)
    def post(self, request, pk):
        method = payments.make_default(_method(request, pk), actor=request.user, request=request)
        return Response(s.PaymentMethodSerializer(method).data)


class StripeWebhook(APIView):
    """Stripe calls this; the signature over the raw body is the authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(description="handled"),
            502: error_response(
                502, "payment_processor_error: nothing of the event was stored; Stripe retries."
            ),
        },
    )
    def post(self, request):
        outcome = webhooks.handle_webhook(
            request._request.body, request.headers.get("Stripe-Signature", "")
        )
        return Response({"received": True, "outcome": outcome})
