"""manage.py unlock_account EMAIL [--address IP]...

The admin's *Clear lock* for an operator on the server: forget the failed sign-ins counted
against EMAIL (from the given addresses only, or from all), through
``accounts.services.unlock_account``, audited as ``account_unlocked`` (no actor: the server).
django-axes' own ``axes_reset…`` commands refuse, pointing here (``axes_refused``)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_ipv46_address

from edgeplug.accounts.lockout import lockout_name
from edgeplug.accounts.services import unlock_account


class Command(BaseCommand):
    help = "Clear an account's sign-in lockout (audited as account_unlocked)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The account whose failed sign-ins are forgotten.")
        parser.add_argument(
            "--address",
            action="append",
            help="Forget only those from this IP address (repeatable); default: from all.",
        )

    def handle(self, *args, email, address, **options):
        email = lockout_name(email)  # as the lock recorded it, and as it is said back
        if not email:
            raise CommandError("EMAIL: give the account's email address.")
        for given in address or ():
            try:
                validate_ipv46_address(given)
            except ValidationError:
                refusal = f"--address: {given!r} is not an IPv4 or IPv6 address."
                raise CommandError(refusal) from None
        event = unlock_account(email, addresses=address)
        if event is None:
            where = f" from {', '.join(address)}" if address else ""
            self.stdout.write(f"{email} has no failed sign-ins{where} to forget.")
            return
        details = event.details
        self.stdout.write(
            f"Lock of {email} cleared: {details['failures']} failed sign-ins forgotten "
            f"(from {', '.join(details['addresses']) or 'no address'}); audited as "
            "account_unlocked."
        )
