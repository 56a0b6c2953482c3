"""An email's local part is stored as Django's email validator reads it, in lowercase ASCII
(``normalize_email``): İ and the dotless i are i, the long s is s. ``str.lower()`` had stored
İ as an i and a combining dot, which the validator refuses (that user's admin page could not
be saved), and kept the other two, which a sign-in now spells i and s. This migration spells stored local parts so;
the field now judges an address as it is stored (``EmailAddressField``).

Two rows that become one address are two accounts of one mailbox: which to keep is an
operator's decision, so, as 0002 and 0004 do, this migration stops and names them."""

from django.db import migrations

import edgeplug.accounts.models

# What str.lower() left of the letters the validator reads as ASCII ones (the Kelvin sign was
# lowercased to k already), and the letter each is read as.
_AS_READ = {"i\u0307": "i", "\u0131": "i", "\u017f": "s"}


def _as_read(email: str) -> str:
    local, at, domain = email.rpartition("@")
    for stored, read in _AS_READ.items():
        local = local.replace(stored, read)
    return local + at + domain


def _spell_local_parts_as_read(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = User.objects.using(schema_editor.connection.alias)
    stored = dict(users.values_list("pk", "email"))
    renamed = {pk: new for pk, old in stored.items() if (new := _as_read(old)) != old}
    spellings: dict[str, list[str]] = {}
    for pk, email in stored.items():
        spellings.setdefault(renamed.get(pk, email), []).append(email)
    clashes = sorted(sorted(group) for group in spellings.values() if len(group) > 1)
    if clashes:
        listed = "; ".join(", ".join(group) for group in clashes)
        raise RuntimeError(
            "accounts 0005: these users' emails are one address once their local part is "
            "spelt as the email validator reads it (İ and the dotless i as i, the long s as "
            f"s): {listed}. Change or delete all but one of each group (manage.py shell or the "
            "admin), then migrate again."
        )
    for pk, email in renamed.items():
        users.filter(pk=pk).update(email=email)


class Migration(migrations.Migration):

    dependencies = [("accounts", "0004_email_domains_in_unicode")]

    operations = [
        migrations.RunPython(_spell_local_parts_as_read, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=edgeplug.accounts.models.EmailAddressField(max_length=254, unique=True),
        ),
    ]
