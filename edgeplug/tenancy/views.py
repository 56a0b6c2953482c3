"""The tenant API: members and roles (tenant admins), and the tenant's audit trail."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.response import Response

from edgeplug.audit.models import AuditEvent
from edgeplug.core.filters import FilterSet, UtcDateTimeFilter
from edgeplug.core.schema import error_response
from edgeplug.core.serializers import refuse_body, validated
from edgeplug.errors import BadRequest
from edgeplug.tenancy import serializers as s
from edgeplug.tenancy.audit_trail import as_its_admins_read_it
from edgeplug.tenancy.models import Membership
from edgeplug.tenancy.permissions import IsTenantAdmin
from edgeplug.tenancy.scoping import TenantScoped, for_request
from edgeplug.tenancy.services import add_member_by_email, change_role, remove_member
from edgeplug.timefmt import utc_iso


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.MembershipSerializer
    permission_classes = [IsTenantAdmin]
    filterset_fields = ["role"]
    ordering_fields = ["created_at", ("user__email", "email")]
    # ASCII digits, as every other route's <int:…>: the router's default took any text to
    # int(), so "0_13", Arabic-Indic digits or "+13" named member 13.
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return for_request(Membership.objects.select_related("user", "tenant"), self.request)

    @extend_schema(
        request=s.AddMemberSerializer,
        responses={
            201: s.MembershipSerializer,
            400: error_response(400, "unknown_user: no EdgePlug account uses the email."),
        },
    )
    def create(self, request):
        data = validated(s.AddMemberSerializer, request)
        membership = add_member_by_email(
            request.tenant, data["email"], data["role"], actor=request.user, request=request
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ChangeRoleSerializer, responses=s.MembershipSerializer)
    def partial_update(self, request, pk=None):
        # Look the member up first: another tenant's member is a 404 whatever the body says.
        membership = self.get_object()
        data = validated(s.ChangeRoleSerializer, request)
        membership = change_role(membership, data["role"], actor=request.user, request=request)
        return Response(s.MembershipSerializer(membership).data)

    def destroy(self, request, pk=None):
        membership = self.get_object()
        refuse_body(request)
        remove_member(membership, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventFilter(FilterSet):
    # Any case, as the API's other text filters. Not a choice: the actions are no closed set
    # (each app names its own, and the log keeps names no longer written).
    action = django_filters.CharFilter(
        lookup_expr="iexact", label="the event's action (login, order_placed …), any case"
    )
    since = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "since", "until"]

    def filter_queryset(self, queryset):
        """``since`` after ``until`` is refused (``invalid_period`` on ``since``, naming both
        in UTC), as the usage report refuses its ``from`` after its ``to``; equal is the empty
        period."""
        since, until = self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")
        if since and until and since > until:
            raise BadRequest(
                f"since ({utc_iso(since)}) must not be after until ({utc_iso(until)}).",
                code="invalid_period",
                field="since",
            )
        return super().filter_queryset(queryset)


class AuditEventList(TenantScoped, generics.ListAPIView):
    queryset = AuditEvent.objects.all()
    serializer_class = s.AuditEventSerializer
    permission_classes = [IsTenantAdmin]
    filterset_class = AuditEventFilter

    def get_queryset(self):
        return as_its_admins_read_it(super().get_queryset())
