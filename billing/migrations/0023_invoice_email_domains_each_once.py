"""An account's invoice emails, each mailbox once however it is spelt: one written
again with its domain in punycode, in fullwidth letters or decomposed was kept beside it
(``billing_accounts.distinct_emails`` compares them as an account's email is compared,
``normalize_email``, since; this makes stored accounts follow, as 0018 did for case)."""

import string

import idna
from django.db import migrations

# accounts.models.normalize_email as of this migration (copied: a migration must not change
# with the code): the local part lowercased as the email validator reads it (ASCII, and the
# four letters it takes besides, İ ı ſ K as i i s k), the domain mapped by UTS #46.
_LOCAL_PART_AS_READ = str.maketrans(
    string.ascii_uppercase + "\u0130\u0131\u017f\u212a", string.ascii_lowercase + "iisk"
)


def _mailbox(email: str) -> str:
    local, at, domain = email.strip().rpartition("@")
    try:
        domain = idna.decode(idna.encode(domain, uts46=True))
    except UnicodeError:  # not a domain IDNA takes: compared lowercased
        domain = domain.lower()
    return local.translate(_LOCAL_PART_AS_READ) + at + domain


def keep_each_mailbox_once(apps, schema_editor):
    BillingAccount = apps.get_model("billing", "BillingAccount")
    for account in BillingAccount.objects.only("pk", "invoice_emails").iterator():
        first_spelling: dict[str, str] = {}
        for email in account.invoice_emails:
            first_spelling.setdefault(_mailbox(email), email)
        if len(first_spelling) != len(account.invoice_emails):
            account.invoice_emails = list(first_spelling.values())
            account.save(update_fields=["invoice_emails"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0022_removed_payment_method")]

    operations = [migrations.RunPython(keep_each_mailbox_once, migrations.RunPython.noop)]
