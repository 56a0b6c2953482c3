"""Shapes of the tenant API."""

from rest_framework import serializers

from edgeplug.audit.models import AuditEvent
from edgeplug.core.serializers import ReadOnlyModelSerializer, StrictSerializer
from edgeplug.tenancy.models import Membership, Role


class MembershipSerializer(ReadOnlyModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "created_at"]


class AddMemberSerializer(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class ChangeRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class AuditEventSerializer(ReadOnlyModelSerializer):
    """An event of the tenant's audit trail: its members' actions as recorded, and what
    platform staff did to its objects without who did it or from where."""

    actor_email = serializers.CharField(
        source="shown_actor_email",
        read_only=True,
        allow_null=True,
        help_text="who did it; null when EdgePlug's platform staff did (by_platform_staff)",
    )
    ip = serializers.IPAddressField(
        source="shown_ip",
        read_only=True,
        allow_null=True,
        help_text="the address it came from; null when EdgePlug's platform staff did it",
    )
    by_platform_staff = serializers.BooleanField(
        read_only=True,
        help_text="true for what EdgePlug's platform staff (a reviewer, finance, a platform "
        "admin) did to the tenant's objects: staff identities are not told to tenants",
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "actor_email",
            "by_platform_staff",
            "target",
            "ip",
            "request_id",
            "details",
        ]
