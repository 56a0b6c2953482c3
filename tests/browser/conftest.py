"""Headless Chromium (Debian's, through Playwright's Python API) against a live server.

Every journey fails on a browser console error, on an HTTP response >= 400 it did not say it
expected, and on an unresolved template variable (test settings print a marker for one). On
failure the page's screenshot and HTML are saved under ``test-artifacts/`` in pytest's
temporary directory and the path is printed; ``EDGEPLUG_BROWSER_ARTIFACTS=always`` saves
them for passing journeys too (to look at the pages).
"""

import os
import re
import shutil
from dataclasses import dataclass, field

import pytest

from tests.conftest import totp_now
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
    VendorTenantFactory,
    staff_member,
)
from tests.review.conftest import INVALID_MARKER
from tests.vendors import VENDOR_SLUG

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 900}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (scripts/bootstrap.sh)")
    from playwright.sync_api import sync_playwright

    # The sync API runs an asyncio loop in this thread for its own I/O; Django sees the loop
    # and would refuse the ORM calls the tests make between browser steps. Nothing of
    # Django's runs inside that loop, so the guard is switched off for these tests only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


HIDDEN_HEADERS = """() => [...document.querySelectorAll('#result_list thead th')].filter(th => {
    const box = th.getBoundingClientRect();
    if (box.left < 0 || box.right > window.innerWidth) return true;
    const y = box.top + box.height / 2;
    return [box.left + 2, box.left + box.width / 2, box.right - 2].some(x => {
        const hit = document.elementFromPoint(x, y);
        return !(hit && th.contains(hit));
    });
}).map(th => th.innerText.trim() || th.className)"""


@dataclass
class Journey:
    """A browser page plus what went wrong on it, checked after every step."""

    page: object
    base_url: str
    marker: str
    console_errors: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    expected: list[tuple[int, str]] = field(default_factory=list)

    def expect_status(self, status: int, path: str) -> None:
        """The journey means to get ``status`` for ``path`` (e.g. a 403 a group must see)."""
        self.expected.append((status, self.base_url + path))

    def _is_expected(self, status: int, url: str) -> bool:
        return (status, url.split("?")[0]) in self.expected

    def on_response(self, response) -> None:
        if response.status >= 400 and not self._is_expected(response.status, response.url):
            self.bad_responses.append(f"{response.status} {response.request.method} {response.url}")

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        status = re.search(r"status of (\d{3})", message.text)
        url = (message.location or {}).get("url", "")
        if status and self._is_expected(int(status.group(1)), url):
            return
        self.console_errors.append(f"{message.text} ({url})")

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        self.check()
        return response

    def click(self, locator) -> None:
        """Click something that loads a page, and check the page it led to."""
        with self.page.expect_navigation():
            locator.click()
        self.check()

    def problems(self) -> list[str]:
        found = [f"console error: {e}" for e in self.console_errors]
        found += [f"unexpected HTTP {r}" for r in self.bad_responses]
        html = self.page.content()
        for name in re.findall(re.escape(self.marker) + r"(.*?)!!", html):
            found.append(f"unresolved template variable {name!r} on {self.page.url}")
        return found

    def check(self) -> None:
        problems = self.problems()
        assert not problems, "\n".join(problems)

    def start_enrolment(self, user):
        """On the portal's sign-in page: email and password (no authenticator yet), which
        lead to the enrolment, then Start. Returns the device being enrolled."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self.page.get_by_label("Email").fill(user.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.click(self.page.get_by_role("button", name="Sign in"))
        assert self.page.url.endswith("/portal/enrol/")
        self.click(self.page.get_by_role("button", name="Start"))
        return TOTPDevice.objects.get(user=user, confirmed=False)

    def hidden_column_headers(self) -> list[str]:
        """Column headers of the admin list a person cannot see whole at this window's width:
        outside the viewport, or scrolled under the filter sidebar in a clipped table."""
        return self.page.evaluate(HIDDEN_HEADERS)

    def sign_in(self, user) -> None:
        """Email, password and the current TOTP code, one submit."""
        self.goto("/admin/login/?next=/admin/")
        self.page.get_by_label("Email").fill(user.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_label("OTP Token").fill(totp_now(user.device))
        self.click(self.page.get_by_role("button", name="Log in"))
        assert self.page.url == self.base_url + "/admin/", self.page.content()[-1500:]


@pytest.fixture
def journey(chromium, live_server, settings, request, tmp_path_factory):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    ]
    settings.TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = INVALID_MARKER
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url)
    page = context.new_page()
    trip = Journey(page=page, base_url=live_server.url, marker=INVALID_MARKER.split("%s")[0])
    page.on("response", trip.on_response)
    page.on("console", trip.on_console)
    page.on("pageerror", lambda error: trip.console_errors.append(f"page error: {error}"))
    yield trip
    problems = trip.problems()
    report = getattr(request.node, "report_call", None)
    failed = report is None or report.failed or bool(problems)
    if failed or os.environ.get("EDGEPLUG_BROWSER_ARTIFACTS") == "always":
        folder = tmp_path_factory.getbasetemp() / "test-artifacts" / request.node.name
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "page.png"), full_page=True)
        (folder / "page.html").write_text(page.content())
        print(f"\nbrowser artifacts of {request.node.nodeid}: {folder}")
    context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def staff_user(transactional_db):
    """staff_user(group) -> a staff member of that group with one confirmed TOTP device."""
    return staff_member


@pytest.fixture
def superuser(transactional_db):
    """A platform admin who is also a superuser, with one confirmed TOTP device: tenants,
    users and credentials are theirs alone (no staff group is granted them)."""
    user = staff_member("platform-admins")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user


@pytest.fixture
def vendor_admin(transactional_db):
    """Ada, the admin of the Acme Robotics vendor, with one confirmed TOTP device."""
    tenant = VendorTenantFactory(slug=VENDOR_SLUG, name="Acme Robotics")
    user = UserFactory(email="ada@acme.example")
    MembershipFactory(tenant=tenant, user=user, role="admin")
    user.device = TOTPDeviceFactory(user=user)
    return user
