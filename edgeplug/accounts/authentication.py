"""JWT authentication that also resolves the tenant and role the token was issued for."""

from rest_framework import exceptions
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES, JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from edgeplug.core.compiled import CompiledQuery
from edgeplug.tenancy.models import Membership


class MembershipRevoked(exceptions.AuthenticationFailed):
    default_code = "membership_revoked"
    default_detail = "Your membership of this tenant has ended: sign in again."


# The token's membership with its user and tenant, in one query compiled once per process:
# every authenticated request runs it.
_membership_query = CompiledQuery(
    lambda user, tenant: (
        Membership.objects.live()
        .select_related("tenant", "user")
        .filter(user__pk=user, tenant_id=tenant)
        .order_by("pk")[:1]
    ),
    user=Membership._meta.get_field("user"),
    tenant=Membership._meta.get_field("tenant"),
)


def token_membership(token) -> Membership | None:
    """The membership a token was issued for, read now (roles change, members leave): None
    for a token without a tenant; ``MembershipRevoked`` when it has ended."""
    tenant_id = token.get("tenant_id")
    if tenant_id is None:
        return None
    membership = _membership_query.first(
        user=token.get(api_settings.USER_ID_CLAIM), tenant=tenant_id
    )
    if membership is None:
        raise MembershipRevoked()
    return membership


# The schemes a person's token is sent with, read in any case (RFC 9110 §11.1), as the device
# door and /metrics read theirs: OAuth2 token responses spell it ``bearer``.
_SCHEMES = {scheme.lower(): scheme for scheme in AUTH_HEADER_TYPE_BYTES}


class TenantJWTAuthentication(JWTAuthentication):
    def get_raw_token(self, header: bytes) -> bytes | None:
        """simplejwt's, the scheme read in any case."""
        scheme, *rest = header.split() or [b""]
        return super().get_raw_token(b" ".join([_SCHEMES.get(scheme.lower(), scheme), *rest]))

    def authenticate(self, request):
        header = self.get_header(request)
        raw_token = self.get_raw_token(header) if header is not None else None
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        if token.get("tenant_id") is None:
            membership = None
            user = self.get_user(token)  # unknown or inactive users fail as simplejwt says
        else:
            # The user and their membership in one query; roles are read from the database,
            # so a role change or a removal takes effect at once.
            try:
                membership = token_membership(token)
            except MembershipRevoked:
                self.get_user(token)  # an unknown or inactive user says so first
                raise
            user = self._checked(membership.user, token)
        tenant = membership.tenant if membership else None
        role = membership.role if membership else None
        for target in (request, getattr(request, "_request", None)):
            if target is not None:
                target.tenant = tenant
                target.role = role
        return user, token

    @staticmethod
    def _checked(user, token):
        """simplejwt's checks of ``get_user``, for a user read with the membership."""
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(
                "The user's password has been changed.", code="password_changed"
            )
        return user
