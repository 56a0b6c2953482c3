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
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "actor_email",
            "target",
            "ip",
            "request_id",
            "details",
        ]
