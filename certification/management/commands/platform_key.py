"""manage.py platform_key [--days N] | --published

Prints a fresh platform signing key entry for the key ring (PLATFORM_SIGNING_KEYS or the
file named by PLATFORM_SIGNING_KEYS_FILE), or the public key set as it is published. The
private key goes to stdout only, for the operator to put in their secret store. It runs
without the system checks, which refuse a deployment with no key ring yet: it makes the first.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from certification.certificates import platform_keys

# A key valid longer would outlive the calendar's dates (a key's not_after is a date).
MAX_DAYS = 36_500


class Command(BaseCommand):
    help = "Print a new platform signing key entry, or the published key set."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=730, help="Validity window of the new key, in days."
        )
        parser.add_argument(
            "--published",
            action="store_true",
            help="Print the key set served at /.well-known/edgeplug/keys.json instead.",
        )

    def handle(self, *args, days, published, **options):
        if published:
            try:
                ring = platform_keys.keyring()
            except platform_keys.PlatformKeyError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(json.dumps(ring.published(), indent=2))
            return
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS} (100 years).")
        self.stdout.write(json.dumps(platform_keys.generate_key_entry(valid_days=days), indent=2))
        self.stderr.write(
            'Add this entry to the key ring\'s "keys" and make its key_id "active" to rotate; '
            "keep the old key listed without its private_key so its certificates verify."
        )
