"""An email is judged as it is stored (``normalize_email``'s spelling), whichever door takes it:
a spelling that grows past the column or that the email validator refuses is a clear refusal
(a form error, a ``CommandError``), never a database error, a 500 or an account whose admin
page can no longer be saved."""

import re

import pytest
from django.core.management import CommandError, call_command
from django.core.validators import validate_email

from edgeplug.accounts.models import User, normalize_email
from edgeplug.audit.models import AuditEvent
from tests.conftest import changeform_data
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-password-1"
ADD = "/admin/accounts/user/add/"

# 135 characters as typed; each capital dotted İ of its domain is an i and a combining dot
# (U+0307) once lowercased: 255, past the column's 254.
GROWS_PAST_THE_COLUMN = "a@" + ".".join(["\u0130" * 20] * 6) + ".example"
# A label of 60 characters as typed, of 120 once lowercased: past a label's 63.
GROWS_PAST_A_LABEL = "a@" + "\u0130" * 60 + ".example"


def test_a_local_part_is_stored_as_the_validator_reads_it():
    """The validator takes İ, the dotless i, the long s and the Kelvin sign as the ASCII
    letters they are read as (its regex ignores case); ``str.lower()`` made İ two characters
    it then refused."""
    assert normalize_email("\u0130lker@Example.com") == "ilker@example.com"
    assert normalize_email("\u0131LKER@example.com") == "ilker@example.com"
    assert normalize_email("\u017fam@example.com") == "sam@example.com"
    assert normalize_email("\u212aelvin@example.com") == "kelvin@example.com"
    assert normalize_email("\u0130" * 130 + "@example.com") == "i" * 130 + "@example.com"


def test_every_letter_the_validator_takes_in_a_local_part_is_stored_as_ascii():
    read_as_ascii = [
        chr(point)
        for point in range(0x80, 0x110000)
        if re.fullmatch("[a-z]", chr(point), re.IGNORECASE)
    ]
    assert read_as_ascii  # the four above, in whatever Unicode version Python has
    for letter in read_as_ascii:
        validate_email(f"{letter}x@example.com")
        stored = normalize_email(f"{letter}x@example.com")
        assert stored.isascii() and re.fullmatch(stored[0], letter, re.IGNORECASE), letter


@pytest.mark.parametrize(
    ("email", "message"),
    [
        (GROWS_PAST_THE_COLUMN, "EMAIL: .*255 characters.*at most 254"),
        (GROWS_PAST_A_LABEL, "EMAIL: Enter a valid email address"),
    ],
    ids=["past-the-column", "past-a-label"],
)
def test_adduser_refuses_an_address_that_is_no_address_as_stored(email, message):
    with pytest.raises(CommandError, match=message):
        call_command("adduser", email, "--password", NEW_PASSWORD)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "email", [GROWS_PAST_THE_COLUMN, GROWS_PAST_A_LABEL], ids=["past-the-column", "past-a-label"]
)
def test_the_admin_s_add_page_refuses_it_beside_the_field(admin_session, email):
    client, _ = admin_session("platform-admins", is_superuser=True)
    data = changeform_data(client.get(ADD))
    data.update({"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    response = client.post(ADD, data)
    assert response.status_code == 200  # the form again, not a 500
    assert response.context["adminform"].form.errors["email"]
    assert not User.objects.filter(is_staff=False).exists()


def test_a_user_added_with_a_capital_dotted_i_can_be_deactivated_in_the_admin(admin_session):
    """Stored as "i̇lker" (a combining dot) its admin page could never be saved: "Enter a
    valid email address", so staff could not deactivate the account."""
    call_command("adduser", "\u0130lker@example.com", "--password", NEW_PASSWORD)
    user = User.objects.get(is_staff=False)
    assert user.email == "ilker@example.com"
    client, _ = admin_session("platform-admins", is_superuser=True)
    url = f"/admin/accounts/user/{user.pk}/change/"
    data = changeform_data(client.get(url))
    data.pop("is_active", None)  # unticked
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.is_active is False


@pytest.mark.parametrize(
    "email",
    [GROWS_PAST_THE_COLUMN, "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".example"],
    ids=["grown", "typed-long"],
)
def test_a_sign_in_with_an_address_no_account_can_have_is_refused_not_a_500(api, client, email):
    """The failure is counted (django-axes) and audited under the address: it was longer than
    their columns (the portal's form takes 320 characters)."""
    api.raise_request_exception = client.raise_request_exception = False
    answer = api.post("/api/v1/auth/token", {"email": email, "password": PASSWORD}, format="json")
    if len(email) <= 254:
        assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
    else:  # the API's field takes no more
        assert answer.status_code == 400
    portal = client.post("/portal/sign-in/", {"email": email, "password": PASSWORD})
    assert portal.status_code == 401  # the form again, with the refusal
    assert "invalid_credentials" in portal.content.decode()
    admin = client.post("/admin/login/", {"username": email, "password": PASSWORD})
    assert admin.status_code == 200  # the admin's login form again
    assert admin.context["form"].errors
    assert AuditEvent.objects.filter(action="login_failed").count() == 3 - (len(email) > 254)


def test_adding_a_member_by_an_address_no_account_can_have_says_no_account_uses_it(
    member_client,
):
    client, _ = member_client("admin")
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/tenant/members",
        {"email": GROWS_PAST_THE_COLUMN, "role": "developer"},
        format="json",
    )
    assert response.json()["code"] == "unknown_user", response.json()
