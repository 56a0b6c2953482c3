"""Signing in to the portal: one step with TOTP, enrolment for admins, lockout, sign-out."""

import pytest
from django.test import Client
from django.utils.html import escape
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from edgeplug.accounts.lockout import account_locked
from edgeplug.audit.models import AuditEvent
from tests.conftest import sign_in, totp_now
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    TenantFactory,
    TOTPDeviceFactory,
    UserFactory,
    VendorTenantFactory,
    staff_member,
)
from tests.portal.conftest import portal_enrol, portal_sign_in

pytestmark = pytest.mark.django_db


def _member(role, tenant=None):
    return MembershipFactory(tenant=tenant or VendorTenantFactory(), role=role).user


def test_admin_signs_in_with_email_password_and_code_in_one_step():
    user = _member("admin")
    device = TOTPDeviceFactory(user=user)
    client = Client()
    response = portal_sign_in(client, user, device)
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    page = client.get("/portal/")
    assert page.status_code == 200
    assert "Runs in progress" in page.content.decode()


def test_a_wrong_code_is_refused_with_the_apis_code():
    user = _member("admin")
    TOTPDeviceFactory(user=user)
    response = Client().post(
        "/portal/sign-in/", {"email": user.email, "password": PASSWORD, "otp": "000000"}
    )
    assert response.status_code == 401
    assert "otp_invalid" in response.content.decode()
    assert response.context["form"].has_error("otp")  # the field marked, as on every form


def test_a_vendor_you_are_not_a_member_of_is_refused_with_the_apis_code():
    user = _member("developer")
    response = portal_sign_in(Client(), user, vendor="someone-else")
    assert response.status_code == 401
    assert "unknown_tenant" in response.content.decode()
    assert response.context["form"].has_error("vendor")
    assert not AuditEvent.objects.filter(action="login").exists()


@pytest.mark.parametrize(
    "typed", ["ACME-ROBOTICS", " acme-robotics ", "Acme Robotics", "acme robotics"]
)
def test_a_member_of_two_vendors_names_one_by_its_short_name_in_any_case_or_its_name(typed):
    """The portal shows a vendor by its name ("Acme Robotics"); its short name was asked for
    exactly ("Enter a valid slug" for the name, unknown_tenant for another case)."""
    acme = VendorTenantFactory(slug="acme-robotics", name="Acme Robotics")
    user = _member("developer", acme)
    MembershipFactory(user=user, tenant=VendorTenantFactory(name="Rival Robotics"), role="admin")
    client = Client()
    response = portal_sign_in(client, user, vendor=typed)
    assert (response.status_code, response["Location"]) == (302, "/portal/"), response.content
    assert "Acme Robotics (developer)" in client.get("/portal/").content.decode()

    if " " not in typed.strip():  # the API's `tenant` is a short name, in any case too
        api = APIClient()
        body = {"email": user.email, "password": PASSWORD, "tenant": typed}
        token = api.post("/api/v1/auth/token", body, format="json")
        assert (token.status_code, token.json()["tenant"]) == (200, "acme-robotics")


def test_a_name_two_of_your_vendors_share_asks_for_the_short_name():
    user = _member("developer", VendorTenantFactory(slug="acme-eu", name="Acme"))
    MembershipFactory(user=user, tenant=VendorTenantFactory(slug="acme-us", name="Acme"))
    response = portal_sign_in(Client(), user, vendor="acme")
    assert response.status_code == 400
    html = response.content.decode()
    assert "tenant_required" in html and "acme-eu" in html and "acme-us" in html
    assert response.context["form"].has_error("vendor")


def test_a_wrong_enrolment_code_is_told_as_the_apis_enrolment_refusal():
    user = _member("admin")
    client = Client()
    portal_sign_in(client, user)
    client.post("/portal/enrol/", {"start": "1"})
    wrong = client.post("/portal/enrol/", {"otp": "000000"})
    assert wrong.status_code == 400
    assert "enrolment_code_invalid" in wrong.content.decode()
    assert wrong.context["form"].has_error("otp")


def test_a_missing_code_asks_for_it():
    user = _member("developer")
    TOTPDeviceFactory(user=user)
    response = Client().post("/portal/sign-in/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 401
    assert "otp_required" in response.content.decode()
    assert response.context["form"].has_error("otp")


def test_admin_without_a_device_must_enrol_before_anything_else():
    user = _member("admin")
    client = Client()
    assert portal_sign_in(client, user)["Location"] == "/portal/enrol/"
    assert client.get("/portal/keys/")["Location"] == "/portal/enrol/"
    page = client.get("/portal/enrol/")
    assert page.status_code == 200
    assert 'name="start"' in page.content.decode() and "<svg" not in page.content.decode()
    assert client.post("/portal/enrol/", {"start": "1"})["Location"] == "/portal/enrol/"
    page = client.get("/portal/enrol/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post("/portal/enrol/", {"otp": "000000"})
    assert wrong.status_code == 400 and "<svg" in wrong.content.decode()
    confirmed = client.post("/portal/enrol/", {"otp": totp_now(device)})
    assert confirmed["Location"] == "/portal/"
    assert client.get("/portal/keys/").status_code == 200


def test_a_deep_link_survives_the_first_sign_in_through_enrolment():
    """A new admin follows a colleague's link to a portal page: the sign-in sends them to
    enrolment first, and once it is confirmed they land on that page. Before, the sign-in
    dropped ``next`` on the way to enrolment, and it always ended on the dashboard."""
    user = _member("admin")
    client = Client()
    deep = "/portal/keys/?from=mail"
    assert client.get(deep)["Location"] == "/portal/sign-in/?next=/portal/keys/%3Ffrom%3Dmail"

    assert portal_sign_in(client, user, next=deep)["Location"] == "/portal/enrol/"
    assert client.post("/portal/enrol/", {"start": "1"})["Location"] == "/portal/enrol/"
    assert client.get("/portal/enrol/").status_code == 200  # a reload keeps it too
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    confirmed = client.post("/portal/enrol/", {"otp": totp_now(device)})

    assert confirmed["Location"] == deep
    assert client.get(confirmed["Location"]).status_code == 200


@pytest.mark.parametrize("next_", ["", "https://evil.example/portal/", "/admin/"])
def test_enrolment_without_a_portal_page_to_go_back_to_lands_home(next_):
    user = _member("admin")
    client = Client()
    assert portal_sign_in(client, user, next=next_)["Location"] == "/portal/enrol/"
    assert portal_enrol(client, user)["Location"] == "/portal/"


@pytest.mark.parametrize(
    "next_",
    [
        "/portal/../admin/",
        "/portal/%2e%2e/admin/",
        "/portal/%2E./admin/",
        "/portal/./../api/v1/auth/me",
        "/portal/keys/../../admin/?q=1",
    ],
)
def test_a_next_that_climbs_out_of_the_portal_lands_home(next_):
    """The browser removes dot segments (encoded ones too) before it follows a Location:
    ``/portal/../admin/`` is /admin/. Such a next was taken as a portal page, as it begins
    with /portal/; it is no page of the portal, so the sign-in lands home."""
    client = Client()
    signed_in = portal_sign_in(client, _member("developer"), next=next_)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/portal/")


def test_a_next_with_dots_that_are_no_segment_is_kept():
    """Only a whole ``.`` or ``..`` segment of the path climbs: a version's number is a
    page's, and a query is no path."""
    client = Client()
    next_ = "/portal/agents/7/versions/1.0.0/?q=../x"
    signed_in = portal_sign_in(client, _member("developer"), next=next_)
    assert signed_in["Location"] == next_


def _shown(device, page) -> bool:
    """The page offers ``device``'s secret to scan (its otpauth:// address)."""
    return escape(device.config_url) in page.content.decode()


def _enrolments_started(user) -> int:
    return AuditEvent.objects.filter(action="mfa_enrolment_started", actor=user).count()


def test_showing_the_enrolment_page_writes_nothing():
    """Only the Start / New code button starts an enrolment: reloads and a second tab show
    the pending one, whose code still confirms."""
    user = _member("admin")
    first_tab = Client()
    portal_sign_in(first_tab, user)
    second_tab = first_tab  # a browser's tabs share its session
    assert first_tab.get("/portal/enrol/").status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert _enrolments_started(user) == 0

    first_tab.post("/portal/enrol/", {"start": "1"})
    device = TOTPDevice.objects.get(user=user)
    for client in (first_tab, first_tab, second_tab):
        assert _shown(device, client.get("/portal/enrol/"))
    assert list(TOTPDevice.objects.filter(user=user)) == [device]
    assert _enrolments_started(user) == 1

    confirmed = first_tab.post("/portal/enrol/", {"otp": totp_now(device)})
    assert confirmed["Location"] == "/portal/"
    device.refresh_from_db()
    assert device.confirmed


def test_new_code_replaces_the_pending_enrolment():
    user = _member("admin")
    client = Client()
    portal_sign_in(client, user)
    client.post("/portal/enrol/", {"start": "1"})
    old = TOTPDevice.objects.get(user=user)
    assert 'name="start"' in client.get("/portal/enrol/").content.decode()  # the New code button
    client.post("/portal/enrol/", {"start": "1"})
    new = TOTPDevice.objects.get(user=user)
    assert new.pk != old.pk and _enrolments_started(user) == 2
    assert _shown(new, client.get("/portal/enrol/"))


def test_starting_enrolments_counts_against_the_apis_budget(settings):
    """Each start writes a device and an audit row, as the API's POST …/mfa/totp does, and
    draws on the same budget: past it the page answers 429 and starts nothing."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "user": "2/min",
        },
    }
    user = _member("admin")
    client = Client()
    portal_sign_in(client, user)
    for _ in range(2):
        assert client.post("/portal/enrol/", {"start": "1"}).status_code == 302

    refused = client.post("/portal/enrol/", {"start": "1"})

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert _enrolments_started(user) == 2
    assert client.get("/portal/enrol/").status_code == 200  # showing it spends nothing


def test_an_enrolment_started_through_the_api_is_neither_shown_nor_confirmed_by_the_portal():
    """Someone holding only the password could start one through the API and know its key:
    the portal shows only the enrolment it started. The API's stays, and confirms there."""
    user = _member("admin")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, user)['access']}")
    started = api.post("/api/v1/auth/mfa/totp")
    assert started.status_code == 201
    device = TOTPDevice.objects.get(pk=started.json()["device_id"])

    client = Client()
    assert portal_sign_in(client, user)["Location"] == "/portal/enrol/"
    page = client.get("/portal/enrol/")
    assert not _shown(device, page) and 'name="start"' in page.content.decode()
    refused = client.post("/portal/enrol/", {"otp": totp_now(device)})
    assert refused.status_code == 400 and "start one first" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and _enrolments_started(user) == 1

    confirmed = api.post("/api/v1/auth/mfa/totp/confirm", {"otp": totp_now(device)}, format="json")
    assert confirmed.status_code == 200, confirmed.json()
    assert api.get("/api/v1/auth/me").json()["mfa_enabled"] is True


def test_confirming_before_starting_says_to_start():
    client = Client()
    portal_sign_in(client, _member("admin"))
    response = client.post("/portal/enrol/", {"otp": "123456"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "start one first" in text and 'name="start"' in text and "<svg" not in text


def test_developer_without_a_device_signs_in_with_password_alone():
    client = Client()
    assert portal_sign_in(client, _member("developer"))["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_lockout_shows_the_apis_message(settings):
    user = _member("developer")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/portal/sign-in/", {"email": user.email, "password": "wrong"})
    response = client.post("/portal/sign-in/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    text = response.content.decode()
    assert "account_locked" in text
    assert account_locked().detail in text  # the API's words


def test_customer_without_a_vendor_tenant_gets_a_clear_page():
    user = MembershipFactory(tenant=TenantFactory(is_customer=True), role="admin").user
    response = Client().post("/portal/sign-in/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "This portal is for vendors" in response.content.decode()


def test_pages_send_strangers_to_sign_in():
    response = Client().get("/portal/keys/")
    assert response["Location"] == "/portal/sign-in/?next=/portal/keys/"


def test_sign_out_ends_the_session():
    client = Client()
    portal_sign_in(client, _member("developer"))
    assert client.post("/portal/sign-out/")["Location"] == "/portal/sign-in/"
    assert client.get("/portal/")["Location"].startswith("/portal/sign-in/")


def test_password_change_keeps_the_session_and_takes_the_new_password():
    user = _member("developer")
    client = Client()
    portal_sign_in(client, user)
    new = "a much longer new passphrase"
    response = client.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    user.refresh_from_db()
    assert user.check_password(new)


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ({"old_password": "not it", "new_password1": "a long passphrase"}, "old_password"),
        ({"old_password": PASSWORD, "new_password1": "a long passphrase"}, "new_password2"),
    ],
    ids=["wrong_old", "mismatch"],
)
def test_a_refused_password_change_is_a_400_at_its_field(typed, field):
    """It answered 200, as if nothing were refused; every other portal form says 400."""
    user = _member("developer")
    client = Client()
    portal_sign_in(client, user)
    response = client.post("/portal/password/", {"new_password2": "another one", **typed})
    assert response.status_code == 400
    assert response.context["form"].has_error(field)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_several_vendors_choose_one_at_sign_in():
    user = UserFactory()
    first, second = VendorTenantFactory(), VendorTenantFactory()
    MembershipFactory(user=user, tenant=first, role="developer")
    MembershipFactory(user=user, tenant=second, role="developer")
    client = Client()
    asked = client.post("/portal/sign-in/", {"email": user.email, "password": PASSWORD})
    assert "tenant_required" in asked.content.decode()
    chosen = portal_sign_in(client, user, vendor=second.slug)
    assert chosen["Location"] == "/portal/"
    assert second.name in client.get("/portal/").content.decode()


def test_sign_in_attempts_share_the_apis_budget_per_address(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "2/min",
        },
    }
    client = Client()
    for _ in range(2):
        assert (
            client.post("/portal/sign-in/", {"email": "a@b.example", "password": "x"}).status_code
            == 401
        )
    refused = client.post("/portal/sign-in/", {"email": "a@b.example", "password": "x"})
    assert refused.status_code == 429
    assert "throttled" in refused.content.decode() and int(refused["Retry-After"]) > 0


def test_a_throttled_device_says_so_and_when_to_retry():
    user = _member("admin")
    device = TOTPDeviceFactory(user=user)
    client = Client()
    client.post("/portal/sign-in/", {"email": user.email, "password": PASSWORD, "otp": "000000"})
    response = portal_sign_in(client, user, device)
    assert response.status_code == 429
    assert "otp_throttled" in response.content.decode()
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("door", ["sign-in", "page"])
def test_staff_without_a_vendor_are_sent_to_the_admin_by_every_portal_door(admin_session, door):
    """A staff user without a vendor is refused (403 not_a_vendor, audited) whether they sign
    in to the portal or, signed in to the admin, open one of its pages; both say where their
    work is."""
    if door == "sign-in":
        user = staff_member("reviewers")
        response = Client().post(
            "/portal/sign-in/",
            {"email": user.email, "password": PASSWORD, "otp": totp_now(user.device)},
        )
    else:
        client, user = admin_session("reviewers")
        response = client.get("/portal/keys/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "This portal is for vendors" in html
    assert 'your work is in the <a href="/admin/">admin</a>' in html
    denial = AuditEvent.objects.get(action="permission_denied")
    assert (denial.actor, denial.details["code"]) == (user, "not_a_vendor")


def test_a_session_signed_in_without_a_code_starts_no_enrolment_once_a_device_is_confirmed():
    """A session signed in with the password alone (no device then) whose account has since
    confirmed a device: Start is refused and the owner's pending enrolment stays (before: it
    replaced it with a device of the session's, whose key it then knew)."""
    user = _member("developer")
    browser = Client()
    assert portal_sign_in(browser, user).status_code == 302  # no device: no code asked
    phone = TOTPDeviceFactory(user=user)
    owner = APIClient()
    owner.credentials(
        HTTP_AUTHORIZATION=f"Bearer {sign_in(owner, user, otp=totp_now(phone))['access']}"
    )
    pending = owner.post("/api/v1/auth/mfa/totp").json()["device_id"]

    refused = browser.post("/portal/enrol/", {"start": "1"})

    assert refused.status_code == 403 and "mfa_required" in refused.content.decode()
    assert "sign in" in refused.content.decode().lower()
    assert list(TOTPDevice.objects.filter(user=user, confirmed=False)) == [
        TOTPDevice.objects.get(pk=pending)
    ]
    assert _enrolments_started(user) == 1
