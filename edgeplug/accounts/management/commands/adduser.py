"""manage.py adduser EMAIL [--tenant SLUG --role ROLE] [--staff-group G] [--password P]

The user is made by ``accounts.services.create_user`` (as ``seed_demo``'s are), audited as
``user_created`` as on the admin's add page; a membership as ``membership_created``."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from edgeplug.accounts.models import User
from edgeplug.accounts.services import create_user
from edgeplug.core.commands import field_argument
from edgeplug.errors import DomainError
from edgeplug.slugs import slug_as_typed
from edgeplug.tenancy.models import Role, StaffGroup, Tenant
from edgeplug.tenancy.services import add_member


class Command(BaseCommand):
    help = "Create a user, optionally a member of a tenant with a role or in a staff group."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", help="Omit to generate one (printed once).")
        parser.add_argument("--tenant", help="Slug of the tenant to join (in any case).")
        parser.add_argument("--role", choices=Role.values, help="Role in --tenant.")
        parser.add_argument(
            "--staff-group",
            choices=StaffGroup.values,
            action="append",
            default=[],
            help="Platform staff group (repeatable).",
        )
        parser.add_argument("--name", default="", help="Full name.")

    @transaction.atomic
    def handle(self, *args, email, password, tenant, role, staff_group, name, **options):
        if bool(tenant) != bool(role):
            raise CommandError("--tenant and --role go together.")
        # As every door reads a slug (sign-in, the portal's vendor field): in any case.
        joined = Tenant.objects.filter(slug=slug_as_typed(tenant)).first() if tenant else None
        if tenant and joined is None:
            raise CommandError(f"No tenant called {tenant!r}.")
        email = field_argument(User, "email", email, argument="EMAIL")
        name = field_argument(User, "full_name", name, argument="--name")
        generated = password is None  # only then: "" is a password typed, and refused below
        if generated:
            password = secrets.token_urlsafe(12)
        try:  # the policy the admin's and the portal's password forms apply
            validate_password(password, User(email=email, full_name=name))
        except ValidationError as refused:
            raise CommandError(f"Password refused: {' '.join(refused.messages)}") from None
        try:
            user = create_user(
                email, password=password, full_name=name, staff_groups=tuple(staff_group)
            )
            if joined is not None:
                add_member(joined, user, role)
        except DomainError as exc:  # email_taken (the unique constraint decides), add_member's
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(f"Created user {user.email}.")
        if generated:
            self.stdout.write(f"Password: {password}")
