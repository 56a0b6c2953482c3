"""An account's invoice emails, each mailbox once: one written again in another case was kept
(``billing_accounts.distinct_emails`` refuses to keep it since; this makes stored accounts
follow, as ``GET /api/v1/billing/account`` shows them)."""

from django.db import migrations


def keep_each_mailbox_once(apps, schema_editor):
    BillingAccount = apps.get_model("billing", "BillingAccount")
    for account in BillingAccount.objects.only("pk", "invoice_emails").iterator():
        first_spelling: dict[str, str] = {}
        for email in account.invoice_emails:
            first_spelling.setdefault(email.casefold(), email)
        if len(first_spelling) != len(account.invoice_emails):
            account.invoice_emails = list(first_spelling.values())
            account.save(update_fields=["invoice_emails"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0017_money_to_give_back")]

    operations = [migrations.RunPython(keep_each_mailbox_once, migrations.RunPython.noop)]
