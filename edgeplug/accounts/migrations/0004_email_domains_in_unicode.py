"""An email's internationalised domain is stored in Unicode (``linus@bücher.example``), as
``normalize_email`` now spells it whichever door writes it: a browser's email field sends the
domain as punycode (``xn--bcher-kva.example``), so an account stored one way could not be found
by the other. This migration spells stored punycode domains in Unicode.

Two rows that become one address are two accounts of one address: which to keep is an
operator's decision, so, as 0002 does, this migration stops and names them."""

import idna
from django.db import migrations


def _in_unicode(email: str) -> str:
    local, at, domain = email.rpartition("@")
    try:
        return local + at + idna.decode(domain)
    except UnicodeError:  # not valid punycode: kept as it is
        return email


def _spell_domains_in_unicode(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = User.objects.using(schema_editor.connection.alias)
    punycode = users.filter(email__contains="xn--").values_list("pk", "email")
    renamed = {pk: new for pk, old in punycode if (new := _in_unicode(old)) != old}
    clashes = sorted(users.filter(email__in=renamed.values()).values_list("email", flat=True))
    if clashes:
        raise RuntimeError(
            "accounts 0004: these emails are stored both with their domain in punycode and in "
            f"Unicode, which are the same address: {', '.join(clashes)}. Change or delete one "
            "account of each (manage.py shell or the admin), then migrate again."
        )
    for pk, email in renamed.items():
        users.filter(pk=pk).update(email=email)


class Migration(migrations.Migration):

    dependencies = [("accounts", "0003_user_field_labels")]

    operations = [migrations.RunPython(_spell_domains_in_unicode, migrations.RunPython.noop)]
