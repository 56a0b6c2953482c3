"""manage.py seed_demo: demo tenants and users so a new user can try EdgePlug at once.

Safe to run again: it keeps what exists and gives every demo user a fresh random password,
printed and written to var/demo-credentials.json (readable by the owner only).
"""

import json
import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from edgeplug.accounts.models import User
from edgeplug.tenancy.models import Membership, Role, StaffGroup, Tenant

DEMO_TENANTS = [
    {
        "slug": "acme-sensors",
        "name": "Acme Sensors (demo vendor)",
        "is_vendor": True,
        "is_customer": False,
    },
    {
        "slug": "globex-factory",
        "name": "Globex Factory (demo customer)",
        "is_vendor": False,
        "is_customer": True,
    },
]
DEMO_USERS = [
    {"email": "vendor@demo.edgeplug.example", "tenant": "acme-sensors", "role": Role.ADMIN},
    {"email": "customer@demo.edgeplug.example", "tenant": "globex-factory", "role": Role.ADMIN},
    {"email": "reviewer@demo.edgeplug.example", "group": StaffGroup.REVIEWERS},
    {"email": "finance@demo.edgeplug.example", "group": StaffGroup.FINANCE},
]


class Command(BaseCommand):
    help = "Create demo tenants and users (vendor, customer, reviewer, finance); print logins."

    @transaction.atomic
    def handle(self, *args, **options):
        for spec in DEMO_TENANTS:
            Tenant.objects.get_or_create(slug=spec["slug"], defaults=spec)
        credentials = []
        for spec in DEMO_USERS:
            user, _ = User.objects.get_or_create(email=spec["email"])
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_active = True
            entry = {"email": user.email, "password": password}
            if "tenant" in spec:
                Membership.objects.get_or_create(
                    user=user,
                    tenant=Tenant.objects.get(slug=spec["tenant"]),
                    defaults={"role": spec["role"]},
                )
                entry.update(tenant=spec["tenant"], role=spec["role"].value)
            else:
                user.is_staff = True
                user.groups.add(Group.objects.get(name=spec["group"].value))
                # Staff must use TOTP in the admin: give them a device to scan.
                device, _ = TOTPDevice.objects.get_or_create(
                    user=user, name="demo", defaults={"confirmed": True}
                )
                entry.update(staff_group=spec["group"].value, totp_url=device.config_url)
            user.save()
            credentials.append(entry)

        path = settings.VAR_DIR / "demo-credentials.json"
        path.write_text(json.dumps(credentials, indent=2))
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign-ins:"))
        for entry in credentials:
            where = entry.get("tenant") or f"staff: {entry['staff_group']}"
            self.stdout.write(f"  {entry['email']:34} {entry['password']:18} ({where})")
            if "totp_url" in entry:
                self.stdout.write(f"    TOTP for the admin: {entry['totp_url']}")
        self.stdout.write(f"Also written to {path}")
