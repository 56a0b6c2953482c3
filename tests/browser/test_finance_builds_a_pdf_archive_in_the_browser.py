"""Finance asks for a month's PDF archive on the Exports page in Chromium: a billing worker
builds it while the page shows its progress and reloads itself, then offers the ZIP, which
holds each of the month's invoice PDFs. The archive was streamed in the web request, and a
month of more than ~300 documents outlasted the web server's worker timeout."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from billing.models import Invoice
from tests.finance.conftest import books  # noqa: F401  (the fixture)
from tests.invoicing.conftest import FEB

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_finance_watches_the_archive_being_built_and_downloads_it(
    journey,
    live_worker,
    staff_user,
    books,  # noqa: F811
):
    journey.sign_in(staff_user("finance"))
    page = journey.page
    journey.goto("/admin/billing/finance/exports/?period=2026-02")
    archives = page.locator("#pdf-archives")
    journey.click(archives.get_by_role("button", name="Build the PDF archive"))

    state = page.locator("#pdf-archive-list tbody tr").first
    # What the worker has done so far: on a quick machine it may be done already.
    expect(state).to_contain_text(re.compile(r"Queued|\d of 4 documents|Ready"))
    if "Ready" not in state.inner_text():  # in progress: the page reloads itself
        assert page.locator('meta[http-equiv="refresh"]').count() == 1

    link = archives.get_by_role("link", name="Download invoices-2026-02.zip")
    expect(link).to_be_visible(timeout=90_000)  # the page reloaded itself until ready
    expect(state).to_contain_text("Ready (4 documents)")
    journey.check()
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "invoices-2026-02.zip"
    zipped = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    issued = Invoice.objects.filter(period_start=FEB).exclude(status="draft")
    assert sorted(zipped.namelist()) == sorted(f"{invoice.number}.pdf" for invoice in issued)
    assert all(zipped.read(name).startswith(b"%PDF-") for name in zipped.namelist())
