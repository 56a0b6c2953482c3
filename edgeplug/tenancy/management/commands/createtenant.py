"""manage.py createtenant SLUG --name NAME [--vendor] [--customer]"""

from django.core.management.base import BaseCommand, CommandError

from edgeplug.errors import DomainError
from edgeplug.slugs import SLUG_RULE
from edgeplug.tenancy.services import create_tenant


class Command(BaseCommand):
    help = "Create a tenant (an organisation that is a vendor, a customer, or both)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help=f"The vendor its packages name: {SLUG_RULE}.")
        parser.add_argument("--name", help="Display name (defaults to the slug).")
        parser.add_argument("--vendor", action="store_true", help="The tenant sells agents.")
        parser.add_argument("--customer", action="store_true", help="The tenant buys agents.")

    def handle(self, *args, slug, name, vendor, customer, **options):
        try:
            tenant = create_tenant(
                name=slug if name is None else name,
                slug=slug,
                is_vendor=vendor,
                is_customer=customer or not vendor,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        kinds = [
            k for k, on in (("vendor", tenant.is_vendor), ("customer", tenant.is_customer)) if on
        ]
        self.stdout.write(f"Created tenant {tenant.slug} ({' and '.join(kinds)}).")
