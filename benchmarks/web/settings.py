"""The production settings, with the bench-only ceiling views added to the URL conf.

Only the benchmark selects this module (``DJANGO_SETTINGS_MODULE``): the ceilings run through
the same middleware, database and cache configuration as the API they are compared with.
"""

from edgeplug.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.web.urls"
