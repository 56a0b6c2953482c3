"""An email's domain is stored in its standard form, mapped by UTS #46 as a browser's email
field maps it (``normalize_email``): composed (NFC) and with fullwidth letters as ASCII ones.
Before, only punycode was decoded: ``bob@ｅｘａｍｐｌｅ.com`` was an account beside
``bob@example.com`` (one mailbox), and an account stored with a decomposed domain (``u`` and a
combining diaeresis) could not sign in with what a browser sends. This migration spells stored
domains so.

Two rows that become one address are two accounts of one mailbox, and a spelling longer than
the column cannot be stored: which to keep or how to change it is an operator's decision, so,
as 0002, 0004 and 0005 do, this migration stops and names them."""

import idna
from django.db import migrations

MAX_LENGTH = 254


def _in_standard_form(email: str) -> str:
    local, at, domain = email.rpartition("@")
    try:
        return local + at + idna.decode(idna.encode(domain, uts46=True))
    except UnicodeError:  # not a domain IDNA takes: kept as it is
        return email


def _spell_domains_in_standard_form(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = User.objects.using(schema_editor.connection.alias)
    stored = dict(users.values_list("pk", "email"))
    renamed = {pk: new for pk, old in stored.items() if (new := _in_standard_form(old)) != old}
    spellings: dict[str, list[str]] = {}
    for pk, email in stored.items():
        spellings.setdefault(renamed.get(pk, email), []).append(email)
    clashes = sorted(sorted(group) for group in spellings.values() if len(group) > 1)
    too_long = sorted(stored[pk] for pk, email in renamed.items() if len(email) > MAX_LENGTH)
    if clashes or too_long:
        listed = "; ".join(", ".join(group) for group in clashes)
        raise RuntimeError(
            "accounts 0006: these users' emails are one address once their domain is in its "
            f"standard form (UTS #46): {listed or 'none'}; these are longer than "
            f"{MAX_LENGTH} characters in it: {', '.join(too_long) or 'none'}. Change or delete "
            "all but one of each group and change the long ones (manage.py shell or the "
            "admin), then migrate again."
        )
    for pk, email in renamed.items():
        users.filter(pk=pk).update(email=email)


class Migration(migrations.Migration):

    dependencies = [("accounts", "0005_email_local_parts_as_read")]

    operations = [
        migrations.RunPython(_spell_domains_in_standard_form, migrations.RunPython.noop)
    ]
