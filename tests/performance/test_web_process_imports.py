"""The web process never loads what only the Celery worker needs: importing the URL
configuration (as gunicorn's workers do through edgeplug.wsgi) leaves the model, property
testing, SBOM and JSON Schema libraries unloaded. Each costs seconds or tens of MB per worker."""

import json
import os
import subprocess
import sys

from django.conf import settings

WORKER_ONLY = ["numpy", "hypothesis", "tflite_micro", "cyclonedx", "jsonschema", "elftools"]
# Invoice PDFs (WeasyPrint, fontTools, the Factur-X XML checks with Saxon): the web process
# renders one only when asked (GET /api/v1/invoices/{id}/pdf), so they load on first use.
# So does the Stripe SDK (with aiohttp): only card payments, saved cards and webhooks use it.
ON_FIRST_USE = ["weasyprint", "fontTools", "saxonche", "facturx", "stripe", "aiohttp"]
# Loaded by libraries whenever installed, never called by the web (edgeplug/wsgi.py): not even
# after the first authenticated request (PyJWT looks for cryptography) or the first upload
# (jsonschema looks for a library per string format).
NEVER = ["cryptography", "arrow", "isoduration", "webcolors", "fqdn", "rfc3987_syntax"]

_PROBE = """
import json, sys
import edgeplug.wsgi
from django.urls import get_resolver
get_resolver().url_patterns  # imports every view module edgeplug.urls names
at_import = sorted({name.split(".")[0] for name in sys.modules})
# What the first authenticated request and the first upload load: an HS256 token round trip
# as the API's authentication makes one, the Redis client, the manifest validator.
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.backends import TokenBackend
from django.conf import settings
jwt = settings.SIMPLE_JWT
backend = TokenBackend(jwt["ALGORITHM"], jwt["SIGNING_KEY"])
assert backend.decode(backend.encode({"user_id": 1, "token_type": "access"}))["user_id"] == 1
import redis, django_redis
from marketplace.packageformat.schema import manifest_validator
assert manifest_validator().is_valid({}) is False
serving = sorted({name.split(".")[0] for name in sys.modules if sys.modules[name] is not None})
print(json.dumps([at_import, serving]))
"""


def _loaded() -> tuple[list[str], list[str]]:
    at_import, serving = json.loads(
        subprocess.run(
            [sys.executable, "-c", _PROBE],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "edgeplug.settings"},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )
    return at_import, serving


def test_importing_the_web_application_loads_no_worker_only_module():
    at_import, serving = _loaded()
    assert "django" in at_import and "rest_framework" in at_import
    assert [name for name in WORKER_ONLY if name in at_import] == []
    assert [name for name in ON_FIRST_USE if name in at_import] == []
    assert "jwt" in serving and "jsonschema" in serving
    assert [name for name in NEVER if name in serving] == []
