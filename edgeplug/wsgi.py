"""WSGI entry point (gunicorn edgeplug.wsgi)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

# The web process validates manifests with jsonschema, without format checks. On import,
# jsonschema also registers its optional "iri" format checker, which builds rfc3987-syntax's
# Earley grammar: about 25 MB and 2 s in every web worker, for a checker never called here.
# The Celery worker, whose SBOM validation does check formats, does not import this module.
sys.modules.setdefault("rfc3987_syntax", None)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")
application = get_wsgi_application()
