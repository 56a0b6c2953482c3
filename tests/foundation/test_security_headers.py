"""CSP, frame denial, HSTS over HTTPS, and secure HttpOnly cookies."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_csp_and_frame_headers():
    response = Client().get("/health")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https():
    assert "Strict-Transport-Security" not in Client().get("/health")
    secure = Client().get("/health", secure=True)
    assert "max-age=31536000" in secure["Strict-Transport-Security"]


def test_session_and_csrf_cookies_are_secure_and_httponly():
    response = Client().get("/admin/login/")
    csrf = response.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]
    from django.conf import settings

    assert settings.SESSION_COOKIE_SECURE and settings.SESSION_COOKIE_HTTPONLY
