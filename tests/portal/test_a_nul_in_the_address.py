"""A NUL character (``%00``) in a portal address: refused before anything reads the address
(``RefuseNulInUrlMiddleware``), on the portal's refusal page."""

import pytest

NUL_URL = "/portal/agents/1/versions/%00"
SAID = "The URL may not contain the NUL character (%00)."


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed_in"])
def test_a_nul_in_a_portal_address_is_refused_on_the_portals_page(client, portal_vendor, signed_in):
    """It was Django's bare text/plain 400, outside the portal's frame."""
    browser = portal_vendor("developer").client if signed_in else client
    response = browser.get(NUL_URL)
    page = response.content.decode()
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert f'<strong class="code">nul_character</strong>: {SAID}' in page
    assert ("Sign out" in page) is signed_in  # in the portal's frame, as the visitor is


def test_a_portal_script_gets_the_refusal_as_json(portal_vendor):
    script = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
    response = portal_vendor("developer").client.get(NUL_URL, **script)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["detail"]) == ("nul_character", SAID)
