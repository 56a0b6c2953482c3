"""``/`` tells a newcomer what EdgePlug is and links to each door."""

from django.test import Client


def test_landing_page_links_api_docs_admin_and_key_set(db):
    response = Client().get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "edge AI agents" in html
    for link in ("/api/v1/docs/", "/admin/", "/.well-known/edgeplug/keys.json"):
        assert f'href="{link}"' in html
    assert Client().get("/.well-known/edgeplug/keys.json").status_code == 200
