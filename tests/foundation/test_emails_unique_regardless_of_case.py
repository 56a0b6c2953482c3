"""An email is one account whichever way it is typed: every door stores it lowercased, the
admin refuses a second spelling beside the field, the database refuses it from anywhere else,
and the migration that adds that rule stops on existing clashes instead of merging them."""

import unicodedata

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from edgeplug.accounts.models import User, normalize_email
from tests.conftest import changeform_data, sign_in
from tests.factories import PASSWORD, UserFactory
from tests.migrations import migrated_back

pytestmark = pytest.mark.django_db
ADD = "/admin/accounts/user/add/"


NEW_PASSWORD = "a-long-password-1"


@pytest.fixture
def superuser_admin(admin_session):
    client, _ = admin_session("platform-admins", is_superuser=True)
    return client


def add_user(client, email: str):
    """Fill in the admin's add-user page as a person does and save it."""
    data = changeform_data(client.get(ADD))
    data.update({"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    return client.post(ADD, data)


def test_adding_an_email_in_another_case_in_the_admin_shows_a_field_error(superuser_admin):
    UserFactory(email="bob@example.com")
    response = add_user(superuser_admin, "Bob@Example.com")
    assert response.status_code == 200  # the form again, not a redirect to the new user
    form = response.context["adminform"].form
    assert form.errors["email"] == ["A user with this email already exists."]
    assert User.objects.filter(email__iexact="bob@example.com").count() == 1


def test_a_user_added_in_the_admin_is_stored_lowercase(superuser_admin):
    response = add_user(superuser_admin, "Carol@Example.COM")
    assert response.status_code == 302
    assert User.objects.filter(email="carol@example.com").exists()


def test_changing_an_email_to_another_users_in_another_case_in_the_admin_is_refused(
    superuser_admin,
):
    UserFactory(email="bob@example.com")
    carol = UserFactory(email="carol@example.com")
    url = f"/admin/accounts/user/{carol.pk}/change/"
    data = changeform_data(superuser_admin.get(url))
    data["email"] = "BOB@example.com"
    response = superuser_admin.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [
        "A user with this email already exists."
    ]
    carol.refresh_from_db()
    assert carol.email == "carol@example.com"


def test_the_owner_still_signs_in_with_any_case_after_a_refused_duplicate(superuser_admin, api):
    bob = UserFactory(email="bob@example.com")
    add_user(superuser_admin, "BOB@example.com")
    response = api.post(
        "/api/v1/auth/token", {"email": "Bob@Example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    assert sign_in(api, bob)["access"]


def test_a_model_save_stores_the_email_stripped_and_lowercase():
    user = User.objects.create_user(email="  Dana@Example.COM ", password=PASSWORD)
    user.refresh_from_db()
    assert user.email == "dana@example.com"


def test_the_database_refuses_a_second_spelling_that_bypasses_save():
    UserFactory(email="bob@example.com")
    carol = UserFactory(email="carol@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=carol.pk).update(email="Bob@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="BOB@EXAMPLE.COM")])


def _migrated_past_a_twin(before: str, migration: str, emails: list[str], match: str) -> set:
    """Users with ``emails`` written as the schema at accounts ``before`` held them (the last
    one a twin of another); migrating to ``migration`` stops (``match``) until the twin is
    deleted, then goes. The emails stored then."""
    written = User.objects.filter(email__in=[*emails, *map(normalize_email, emails)])
    with migrated_back("accounts", before, cleanup=written.delete) as migrator:
        old_user = migrator.old_model("User")
        *_, twin = [old_user.objects.create(email=e, password="!") for e in emails]
        with pytest.raises(RuntimeError, match=match):
            migrator.forward(migration)
        twin.delete()
        migrator.forward(migration)
        return set(User.objects.values_list("email", flat=True))


@pytest.mark.parametrize(
    "typed",
    ["linus@bücher.example", "Linus@XN--BCHER-KVA.example", " linus@xn--bcher-kva.example "],
)
def test_an_internationalised_domain_is_one_address_in_unicode_or_punycode(api, typed):
    """A browser's email field sends ``bücher.example`` as ``xn--bcher-kva.example``: both
    are the same account, stored in Unicode as a person reads it."""
    assert normalize_email(typed) == "linus@bücher.example"
    linus = UserFactory(email="linus@xn--bcher-kva.example")
    assert linus.email == "linus@bücher.example"
    response = api.post("/api/v1/auth/token", {"email": typed, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email=typed, password=PASSWORD)


@pytest.mark.parametrize("email", ["x@xn--zz.example", "bob@example.com", "xn--a@example.com"])
def test_an_address_that_is_not_punycode_is_kept_as_typed(email):
    assert normalize_email(email) == email


FULLWIDTH_EXAMPLE = "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"  # example in fullwidth letters


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # u and a combining diaeresis, as text copied from a macOS file name
        (unicodedata.normalize("NFD", "linus@bücher.example"), "linus@bücher.example"),
        (f"bob@{FULLWIDTH_EXAMPLE}", "bob@example.com"),
        ("linus@B\uff35\u0308CHER.example", "linus@bücher.example"),  # a fullwidth U, an umlaut
        ("anna@FAß.example", "anna@faß.example"),  # ß stays (as browsers read it now)
        ("bob@[127.0.0.1]", "bob@[127.0.0.1]"),  # no domain name: kept (lowercase)
    ],
    ids=["decomposed", "fullwidth", "fullwidth-umlaut", "sharp-s", "address-literal"],
)
def test_a_domain_is_stored_as_a_browser_reads_it(typed, stored):
    """UTS #46, as a browser's email field maps it (and sends it, in punycode)."""
    assert normalize_email(typed) == stored


def test_adduser_refuses_a_second_account_for_the_same_domain_in_fullwidth_letters():
    """Mail to bob at example.com in fullwidth letters lands in bob@example.com's mailbox."""
    UserFactory(email="bob@example.com")
    with pytest.raises(CommandError, match="exists"):
        call_command("adduser", f"bob@{FULLWIDTH_EXAMPLE}", "--password", NEW_PASSWORD)
    assert User.objects.count() == 1


def test_an_account_added_with_a_decomposed_domain_signs_in_with_what_a_browser_sends(api):
    call_command(
        "adduser", unicodedata.normalize("NFD", "linus@bücher.example"), "--password", PASSWORD
    )
    response = api.post(
        "/api/v1/auth/token",
        {"email": "linus@xn--bcher-kva.example", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content


# Each migration that changed how an email is spelt (normalize_email): the schema before it,
# the emails written then (the last one a twin of another), the refusal that names the twins,
# and the emails stored once the twin is deleted.
RESPELLINGS = [
    pytest.param(
        "0001_initial",
        "0002_email_unique_regardless_of_case",
        ["bob@example.com", "Erin@Example.com", "Bob@Example.com"],
        r"differ only in case.*Bob@Example.com, bob@",
        {"bob@example.com", "erin@example.com"},
        id="0002-lowercase",
    ),
    pytest.param(
        "0003_user_field_labels",
        "0004_email_domains_in_unicode",
        [
            "linus@xn--bcher-kva.example",
            "xn--a@example.com",
            "mia@münchen.example",
            "mia@xn--mnchen-3ya.example",
        ],
        r"punycode and in Unicode.*mia@münchen\.example",
        {"linus@bücher.example", "xn--a@example.com", "mia@münchen.example"},
        id="0004-punycode-domains-in-unicode",
    ),
    # str.lower() stored İlker as "i̇lker" (a combining dot the validator refuses) and kept
    # the dotless i and the long s, which a sign-in now spells i and s.
    pytest.param(
        "0004_email_domains_in_unicode",
        "0005_email_local_parts_as_read",
        [
            "i\u0307lker@example.com",
            "\u017fam@example.com",
            "mia@example.com",
            "linus@bücher.example",
            "\u0131lker@example.com",
        ],
        r"validator reads it.*i\u0307lker@example\.com, \u0131lker@example\.com",
        {"ilker@example.com", "sam@example.com", "mia@example.com", "linus@bücher.example"},
        id="0005-local-parts-as-the-validator-reads-them",
    ),
    pytest.param(
        "0005_email_local_parts_as_read",
        "0006_email_domains_in_standard_form",
        [
            unicodedata.normalize("NFD", "linus@bücher.example"),
            "bob@example.com",
            "eve@[127.0.0.1]",
            f"bob@{FULLWIDTH_EXAMPLE}",
        ],
        rf"standard form.*bob@example\.com, bob@{FULLWIDTH_EXAMPLE}",
        {"linus@bücher.example", "bob@example.com", "eve@[127.0.0.1]"},
        id="0006-domains-in-standard-form",
    ),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("before", "migration", "emails", "match", "stored"), RESPELLINGS)
def test_a_migration_respells_stored_emails_and_stops_on_twins(
    before, migration, emails, match, stored
):
    assert _migrated_past_a_twin(before, migration, emails, match) == stored
