"""JWT authentication that also resolves the tenant and role the token was issued for."""

from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from edgeplug.tenancy.models import Membership


class MembershipRevoked(exceptions.AuthenticationFailed):
    default_code = "membership_revoked"
    default_detail = "Your membership of this tenant has ended: sign in again."


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        tenant, role = None, None
        tenant_id = token.get("tenant_id")
        if tenant_id is not None:
            membership = (
                Membership.objects.select_related("tenant")
                .filter(user=user, tenant_id=tenant_id, tenant__is_active=True)
                .first()
            )
            if membership is None:
                raise MembershipRevoked()
            tenant, role = membership.tenant, membership.role
        # Roles are read from the database, so a role change takes effect at once.
        for target in (request, getattr(request, "_request", None)):
            if target is not None:
                target.tenant = tenant
                target.role = role
        return user, token
