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
ON_FIRST_USE = ["weasyprint", "fontTools", "saxonche", "facturx"]

_PROBE = """
import json, sys
import edgeplug.wsgi
from django.urls import get_resolver
get_resolver().url_patterns  # imports every view module edgeplug.urls names
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_the_web_application_loads_no_worker_only_module():
    loaded = json.loads(
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
    assert "django" in loaded and "rest_framework" in loaded
    assert [name for name in WORKER_ONLY if name in loaded] == []
    assert [name for name in ON_FIRST_USE if name in loaded] == []
