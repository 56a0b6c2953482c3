"""Request and response shapes of the auth API."""

from rest_framework import serializers

from edgeplug.core.serializers import StrictSerializer


class TokenRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    # Its short name (slug) in any case, or its name when only one of the user's tenants
    # has it: ``services.choose_membership``.
    tenant = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Only for a member of several tenants: its short name (acme-robotics) or "
        "its name (Acme Robotics).",
    )
    otp = serializers.RegexField(r"^\d{6,8}$", required=False, allow_blank=True)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    tenant = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)


class RefreshRequestSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class OtpSerializer(StrictSerializer):
    otp = serializers.RegexField(r"^\d{6,8}$")


class TotpEnrolmentSerializer(serializers.Serializer):
    device_id = serializers.IntegerField()
    otpauth_url = serializers.CharField()
    qr_svg = serializers.CharField(help_text="The otpauth URL as an inline SVG QR code.")


class MembershipSummarySerializer(serializers.Serializer):
    tenant = serializers.CharField(source="tenant.slug")
    tenant_name = serializers.CharField(source="tenant.name")
    role = serializers.CharField()


class MfaStateSerializer(serializers.Serializer):
    mfa_enabled = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_staff = serializers.BooleanField()
    staff_groups = serializers.ListField(child=serializers.CharField())
    tenant = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    mfa_enabled = serializers.BooleanField()
    memberships = MembershipSummarySerializer(many=True)
