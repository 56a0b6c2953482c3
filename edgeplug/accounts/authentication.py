"""JWT authentication that also resolves the tenant and role the token was issued for."""

from django.db import connections
from django.db.models.query import get_related_populators
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from edgeplug.tenancy.models import Membership


class MembershipRevoked(exceptions.AuthenticationFailed):
    default_code = "membership_revoked"
    default_detail = "Your membership of this tenant has ended: sign in again."


# Sentinels that mark where the user and tenant ids go among the compiled query's parameters.
_USER, _TENANT = -7_000_001, -7_000_002


class _MembershipQuery:
    """The token's membership with its user and tenant, in one query compiled once per
    process: every authenticated request runs it, and building and compiling the ORM query
    cost several times what PostgreSQL takes to answer it. The rows become model instances
    as the ORM's own iterator makes them (converters, select_related populators).

    Thread-safe (gunicorn gthread workers share it): what is kept is immutable once built (a
    race compiles twice and keeps one), and nothing kept refers to a connection: Django's
    connections are per thread, so the query runs, and its converters are applied, on the
    calling thread's own connection, never on the one it was compiled with."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str], tuple] = {}

    @staticmethod
    def queryset(user_id, tenant_id):
        return (
            Membership.objects.select_related("tenant", "user")
            .filter(user__pk=user_id, tenant_id=tenant_id, tenant__is_active=True)
            .order_by("pk")[:1]
        )

    def _compile(self, db: str):
        queryset = self.queryset(_USER, _TENANT)
        compiler = queryset.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        params = list(params)
        slots = (params.index(_USER), params.index(_TENANT))
        select, klass_info = compiler.select, compiler.klass_info
        columns = [expression for expression, _, _ in select[: compiler.col_count]]
        converters = compiler.get_converters(columns)
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, db)
        # The converters as the compiler applies them, without the compiler (which holds the
        # compiling thread's connection).
        converters = [
            (pos, tuple(convs), expression) for pos, (convs, expression) in converters.items()
        ]
        return sql, tuple(params), slots, converters, (start, end), init_list, populators

    def get(self, user_id, tenant_id) -> Membership | None:
        db = Membership.objects.db
        key = (db, connections[db].vendor)
        if key not in self._compiled:
            self._compiled[key] = self._compile(db)
        sql, template, slots, converters, span, init_list, populators = self._compiled[key]
        params = list(template)
        # As the ORM prepares them: a malformed id fails as it would in a filter.
        user_field = Membership._meta.get_field("user").target_field
        tenant_field = Membership._meta.get_field("tenant").target_field
        params[slots[0]] = user_field.get_prep_value(user_id)
        params[slots[1]] = tenant_field.get_prep_value(tenant_id)
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone()
        if found is None:
            return None
        row = list(found)
        for pos, convs, expression in converters:  # SQLCompiler.apply_converters, one row
            for converter in convs:
                row[pos] = converter(row[pos], expression, connection)
        membership = Membership.from_db(db, init_list, row[span[0] : span[1]])
        for populator in populators:
            populator.populate(row, membership)
        return membership


_membership_query = _MembershipQuery()


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request):
        header = self.get_header(request)
        raw_token = self.get_raw_token(header) if header is not None else None
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        tenant_id = token.get("tenant_id")
        membership = None
        if tenant_id is not None:
            # The user and their membership in one query; roles are read from the database,
            # so a role change or a removal takes effect at once.
            membership = _membership_query.get(token.get(api_settings.USER_ID_CLAIM), tenant_id)
        if membership is not None:
            user = self._checked(membership.user, token)
        else:
            user = self.get_user(token)  # unknown or inactive users fail as simplejwt says
            if tenant_id is not None:
                raise MembershipRevoked()
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
