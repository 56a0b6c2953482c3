"""``/`` tells a newcomer what EdgePlug is and links to each door."""

from django.test import Client
from django.urls import reverse


def test_landing_page_links_api_docs_admin_key_set_and_portal(db):
    response = Client().get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "edge AI agents" in html
    portal = reverse("portal:dashboard")
    for link in ("/api/v1/docs/", "/admin/", "/.well-known/edgeplug/keys.json", portal):
        assert f'href="{link}"' in html
    assert Client().get("/.well-known/edgeplug/keys.json").status_code == 200
