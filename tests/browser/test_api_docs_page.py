"""The API's Swagger UI (/api/v1/docs/) in Chromium: its page, its script and the schema it
loads are all answered (they refuse query parameters they do not read, as the API does), and
it lists the API's operations, with no console or CSP error."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_swagger_ui_lists_the_operations(journey):
    journey.goto("/api/v1/docs/")
    page = journey.page
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("EdgePlug")
    orders = page.locator(".opblock-summary-path", has_text="/api/v1/orders").first
    expect(orders).to_be_visible()
    journey.check()
