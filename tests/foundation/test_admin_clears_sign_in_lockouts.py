"""Staff clear a sign-in lockout early in the admin (Axes → Access attempts, "Clear lock"), and
an operator with ``manage.py unlock_account``, both audited as ``account_unlocked``
(accounts.services.unlock_account); django-axes' own ``axes_reset…`` commands refuse. Its
tables are otherwise read-only in the admin: deleting access attempts would lift a lockout
unaudited, deleting log rows would erase who signed in when."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from edgeplug.audit.models import AuditEvent
from tests.conftest import delete_one_then_in_bulk
from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token"
ATTEMPTS = "/admin/axes/accessattempt/"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def _sign_in(api: APIClient, email: str, password: str = PASSWORD):
    return api.post(TOKEN, {"email": email, "password": password}, format="json")


def _bulk_actions(page) -> set[str]:
    form = page.context["action_form"]  # None when the page offers no action at all
    return set() if form is None else {name for name, _ in form.fields["action"].choices}


def _locked_out(api: APIClient) -> str:
    """A member's email, locked out from this client's address by wrong passwords."""
    email = MembershipFactory(role="admin").user.email
    for _ in range(3):
        _sign_in(api, email, "wrong")
    refused = _sign_in(api, email)
    assert (refused.status_code, refused.json()["code"]) == (403, "account_locked")
    return email


def test_a_superuser_clears_a_lock_and_the_member_signs_in_again(admin_session):
    api = APIClient()
    locked, still_locked = _locked_out(api), _locked_out(api)
    client, admin = admin_session("platform-admins", is_superuser=True)
    rows = AccessAttempt.objects.filter(username=locked)
    failures = sum(rows.values_list("failures_since_start", flat=True))

    listing = client.get(ATTEMPTS)
    cleared = client.post(
        ATTEMPTS,
        {"action": "clear_lock", "_selected_action": list(rows.values_list("pk", flat=True))},
        follow=True,
    )

    assert "clear_lock" in _bulk_actions(listing)
    assert f"Lock of {locked} cleared: {failures} failed sign-ins forgotten." in [
        str(m) for m in cleared.context["messages"]
    ]
    [event] = AuditEvent.objects.filter(action="account_unlocked")
    assert (event.actor, event.target) == (admin, locked)
    assert event.details == {"email": locked, "failures": failures, "addresses": ["127.0.0.1"]}
    assert _sign_in(api, locked).status_code == 200
    assert _sign_in(api, still_locked).status_code == 403  # only the chosen account


def test_clearing_rows_that_name_no_account_leaves_them_and_says_so(admin_session):
    """A row naming no account is no account's lock: left for the lockout period to lapse."""
    api = APIClient()
    locked = _locked_out(api)
    unnamed = AccessAttempt.objects.create(
        username=None, ip_address="198.51.100.7", failures_since_start=2, path_info=TOKEN
    )
    client, _ = admin_session("platform-admins", is_superuser=True)
    chosen = [unnamed.pk, AccessAttempt.objects.get(username=locked).pk]

    cleared = client.post(
        ATTEMPTS, {"action": "clear_lock", "_selected_action": chosen}, follow=True
    )

    messages = [str(m) for m in cleared.context["messages"]]
    assert "1 chosen row(s) name no account and were left as they are" in messages[-1]
    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [unnamed.pk]
    assert _sign_in(api, locked).status_code == 200


def test_clearing_the_member_s_row_leaves_a_guesser_elsewhere_locked(admin_session):
    """The lock is per account and address: clearing the member's (the row staff chose) gave
    a guesser at another address, locked out on the same account, a fresh budget too."""
    member, guesser = APIClient(REMOTE_ADDR="198.51.100.7"), APIClient(REMOTE_ADDR="203.0.113.66")
    email = _locked_out(member)
    for _ in range(3):
        _sign_in(guesser, email, "wrong")
    assert _sign_in(guesser, email).status_code == 403
    client, _ = admin_session("platform-admins", is_superuser=True)
    chosen = AccessAttempt.objects.get(username=email, ip_address="198.51.100.7")

    client.post(ATTEMPTS, {"action": "clear_lock", "_selected_action": [chosen.pk]})

    assert _sign_in(member, email).status_code == 200
    assert _sign_in(guesser, email).status_code == 403
    [event] = AuditEvent.objects.filter(action="account_unlocked")
    assert event.details["addresses"] == ["198.51.100.7"]


@pytest.mark.parametrize("model", [AccessAttempt, AccessLog, AccessFailureLog])
def test_axes_rows_cannot_be_deleted_or_changed_in_the_admin(admin_session, model):
    """Not by a superuser either, from the row's page or with the bulk "delete selected"."""
    api = APIClient()
    email = _locked_out(api)
    AccessFailureLog.objects.create(username=email, ip_address="127.0.0.1", path_info=TOKEN)
    client, _ = admin_session("platform-admins", is_superuser=True)  # writes an AccessLog
    rows = list(model.objects.order_by("pk"))
    changelist = f"/admin/axes/{model._meta.model_name}/"

    listing = client.get(changelist)
    codes = delete_one_then_in_bulk(client, changelist, rows[0].pk, rows[-1].pk)
    changed = client.post(f"{changelist}{rows[0].pk}/change/", {"username": "someone-else"})

    assert listing.status_code == 200
    assert "delete_selected" not in _bulk_actions(listing)
    assert codes[0] == 403
    assert codes[1] in (200, 302)  # the list again: no such action offered
    assert changed.status_code == 403
    assert list(model.objects.order_by("pk")) == rows
    assert model.objects.get(pk=rows[0].pk).username == rows[0].username
    assert _sign_in(api, email).status_code == 403  # the lock holds
    assert not AuditEvent.objects.filter(action="account_unlocked").exists()


def test_an_operator_clears_a_lock_with_unlock_account(capsys):
    api = APIClient()
    locked, still_locked = _locked_out(api), _locked_out(api)
    AccessAttempt.objects.create(  # a guesser's failures elsewhere
        username=locked, ip_address="198.51.100.7", failures_since_start=3, path_info=TOKEN
    )

    here = AccessAttempt.objects.get(username=locked, ip_address="127.0.0.1")

    call_command("unlock_account", locked.upper(), "--address", "127.0.0.1")

    failures = here.failures_since_start
    assert capsys.readouterr().out == (
        f"Lock of {locked} cleared: {failures} failed sign-ins forgotten (from 127.0.0.1); "
        "audited as account_unlocked.\n"
    )
    [event] = AuditEvent.objects.filter(action="account_unlocked")
    assert (event.actor, event.target) == (None, locked)
    assert event.details == {"email": locked, "failures": failures, "addresses": ["127.0.0.1"]}
    assert _sign_in(api, locked).status_code == 200
    assert AccessAttempt.objects.filter(username=locked, ip_address="198.51.100.7").exists()
    assert _sign_in(api, still_locked).status_code == 403

    call_command("unlock_account", still_locked)  # from every address
    assert _sign_in(api, still_locked).status_code == 200
    call_command("unlock_account", still_locked)
    assert capsys.readouterr().out.endswith(f"{still_locked} has no failed sign-ins to forget.\n")
    assert AuditEvent.objects.filter(action="account_unlocked").count() == 2


def test_unlock_account_finds_an_address_the_lock_recorded_cut_to_a_column(capsys):
    """An address that grows past 254 characters as spelled (its domain's capital dotted I
    lowercases to two characters) is counted by its first 254, as no account's; the operator
    typing it as the person did clears it (before: "has no failed sign-ins to forget")."""
    api = APIClient()
    typed = "a" * 246 + "@İİİ.com"
    assert len(typed) == 254
    for _ in range(4):
        _sign_in(api, typed, "wrong")
    [row] = AccessAttempt.objects.all()
    assert len(row.username) == 254

    call_command("unlock_account", typed)

    assert capsys.readouterr().out.startswith(f"Lock of {row.username} cleared: ")
    assert not AccessAttempt.objects.exists()
    assert AuditEvent.objects.filter(action="account_unlocked").count() == 1


@pytest.mark.parametrize(
    "command",
    [
        ["axes_reset"],
        ["axes_reset_ip", "127.0.0.1"],
        ["axes_reset_username", "x@example.com"],
        ["axes_reset_ip_username", "127.0.0.1", "x@example.com"],
    ],
)
def test_django_axes_reset_commands_refuse_to_clear_a_lock_unaudited(command):
    api = APIClient()
    locked = _locked_out(api)
    with pytest.raises(CommandError, match=r"Use `manage\.py unlock_account EMAIL"):
        call_command(*[locked if arg == "x@example.com" else arg for arg in command])
    assert _sign_in(api, locked).status_code == 403
    assert not AuditEvent.objects.filter(action="account_unlocked").exists()
