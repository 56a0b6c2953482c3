"""WSGI entry point (gunicorn edgeplug.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")
application = get_wsgi_application()
