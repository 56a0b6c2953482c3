"""WSGI entry point (gunicorn edgeplug.wsgi)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

# Modules some library loads whenever they are installed, that the web process never calls
# (the Celery worker, which needs some of them, does not import this module). Each library
# treats them as absent, so a web worker saves their memory:
# - jsonschema registers a checker for every optional "format" library it finds; the web
#   validates manifests without format checks. rfc3987-syntax alone builds an Earley grammar
#   (about 25 MB and 2 s); the others (arrow through isoduration, ...) cost about 2 MB.
# - PyJWT loads cryptography (about 10 MB, on the first authenticated request) for RSA and EC
#   keys; the API signs its tokens with HS256 (SIMPLE_JWT["ALGORITHM"]), which needs only hmac.
#   redis and requests look for it too, for features the web does not use (OCSP, pyOpenSSL).
# - drf-spectacular imports pydantic (about 9 MB), when installed, to ask whether a serializer
#   is a pydantic model as it builds the schema, which each web process does once for the
#   query parameters the API takes (edgeplug.core.published_parameters); the API has none.
#   Only test tools install it (schemathesis' OpenAPI validators).
_NEVER_USED_HERE = (
    "rfc3987_syntax",
    "fqdn",
    "jsonpointer",
    "rfc3339_validator",
    "rfc3986_validator",
    "uri_template",
    "isoduration",
    "webcolors",
    "cryptography",
    "pydantic",
)
for _name in _NEVER_USED_HERE:
    sys.modules.setdefault(_name, None)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edgeplug.settings")
application = get_wsgi_application()
