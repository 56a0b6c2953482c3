"""The auth API: tokens, refresh, logout, the caller's profile, TOTP enrolment."""

from django_otp import devices_for_user
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from edgeplug.accounts import serializers as s
from edgeplug.accounts.authentication import MembershipRevoked, token_membership
from edgeplug.accounts.errors import AuthError, InactiveUser
from edgeplug.accounts.services import (
    confirm_totp_enrolment,
    refresh_token_held,
    revoke_refresh_token,
    sign_in,
    start_totp_enrolment,
)
from edgeplug.core.exceptions import code_and_detail
from edgeplug.core.serializers import refuse_body, validated
from edgeplug.core.throttling import AnonThrottle, AuthThrottle
from edgeplug.tenancy.permissions import second_factor_verified


class InvalidToken(AuthError, code="token_not_valid"): ...


class MembershipEnded(AuthError, code="membership_revoked"):
    """A refresh token of a membership that has ended: what a request with its access token
    hears (``authentication.MembershipRevoked``), from a door that reads no token."""


def _refresh_token(raw: str) -> RefreshToken:
    """A refresh token sent to refresh or sign out: ``token_not_valid`` when it is forged,
    expired or blacklisted (rotated, signed out)."""
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc


# Signing in and refreshing: anyone may call them, no token is read, and both the anonymous
# and the authentication throttles apply (they guard against password and token guessing).
class _SignInView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonThrottle, AuthThrottle]


class TokenView(_SignInView):
    @extend_schema(request=s.TokenRequestSerializer, responses=s.TokenPairSerializer)
    def post(self, request):
        data = validated(s.TokenRequestSerializer, request)
        pair = sign_in(
            request,
            email=data["email"],
            password=data["password"],
            tenant_slug=data.get("tenant") or None,
            otp=data.get("otp") or None,
        )
        return Response(s.TokenPairSerializer(pair).data)


class TokenRefreshView(_SignInView):
    @extend_schema(request=s.RefreshRequestSerializer, responses=s.TokenPairSerializer)
    def post(self, request):
        data = validated(s.RefreshRequestSerializer, request)
        presented = _refresh_token(data["refresh"])
        # Its user and its membership, checked as a request with its access token checks them,
        # with the same code (simplejwt's user_inactive; password_changed for a token signed
        # before the password was changed; membership_revoked), before the token is rotated:
        # a refused refresh writes nothing, so a member refused while their tenant was
        # deactivated refreshes with the same token once it is active again.
        try:
            JWTAuthentication().get_user(presented)
        except AuthenticationFailed as exc:
            code, detail = code_and_detail(exc)
            raise AuthError(detail, code=code) from exc
        # The role as it is now, as every request reads it (not as it was at sign-in); the
        # rotated token carries the presented one's claims.
        try:
            membership = token_membership(presented)
        except MembershipRevoked as exc:
            raise MembershipEnded(str(exc.detail)) from exc
        refresh = TokenRefreshSerializer(data=data)
        try:
            with refresh_token_held(presented):  # one of several at once rotates it
                refresh.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc
        except AuthenticationFailed as exc:
            # simplejwt's own refusal of a deactivated account (403 no_active_account): told
            # as sign-in and a request with an access token tell it.
            raise InactiveUser("This account is deactivated.") from exc
        tokens = refresh.validated_data
        return Response(
            {
                "access": tokens["access"],
                "refresh": tokens["refresh"],
                "tenant": membership.tenant.slug if membership else None,
                "role": membership.role if membership else None,
            }
        )


class LogoutView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=s.RefreshRequestSerializer, responses={204: None})
    def post(self, request):
        data = validated(s.RefreshRequestSerializer, request)
        try:
            revoke_refresh_token(request, _refresh_token(data["refresh"]))
        except TokenError as exc:  # rotated or signed out meanwhile
            raise InvalidToken(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        user = request.user
        payload = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "is_staff": user.is_staff,
            "staff_groups": sorted(user.groups.values_list("name", flat=True)),
            "tenant": getattr(request, "tenant", None) and request.tenant.slug,
            "role": getattr(request, "role", None),
            "mfa_enabled": any(devices_for_user(user, confirmed=True)),
            "memberships": user.memberships.live().select_related("tenant"),
        }
        return Response(s.MeSerializer(payload).data)


class TotpEnrolView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: s.TotpEnrolmentSerializer})
    def post(self, request):
        refuse_body(request)
        enrolment = start_totp_enrolment(
            request.user, code_verified=second_factor_verified(request), request=request
        )
        return Response(s.TotpEnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)


class TotpConfirmView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.OtpSerializer, responses={200: s.MfaStateSerializer})
    def post(self, request):
        data = validated(s.OtpSerializer, request)
        confirm_totp_enrolment(
            request.user,
            data["otp"],
            code_verified=second_factor_verified(request),
            request=request,
        )
        return Response(s.MfaStateSerializer({"mfa_enabled": True}).data)
