"""Tell drf-spectacular that our JWT authentication is a Bearer scheme."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class TenantJWTScheme(SimpleJWTScheme):
    target_class = "edgeplug.accounts.authentication.TenantJWTAuthentication"
    name = "jwtAuth"
