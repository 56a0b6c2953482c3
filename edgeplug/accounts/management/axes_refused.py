"""django-axes' lockout-clearing commands, replaced: they delete its records directly, so a
lockout cleared with them left no audit event and skipped the rule every other door follows
(``accounts.services.unlock_account``). Each refuses and names the command that does it."""

from django.core.management.base import BaseCommand, CommandError


def refusing(name: str) -> type[BaseCommand]:
    class Command(BaseCommand):
        help = f"Refused here: use unlock_account (django-axes' {name} clears lockouts unaudited)."

        def add_arguments(self, parser):
            parser.add_argument("args", nargs="*")

        def handle(self, *args, **options):
            raise CommandError(
                f"{name} is not available here: it would clear sign-in lockouts with no audit "
                "event. Use `manage.py unlock_account EMAIL [--address IP]` (audited as "
                "account_unlocked), or the admin's Access attempts list, action Clear lock."
            )

    return Command
