"""The production settings, with the bench-only ceiling views added to the URL conf and the
host names the cache-missing targets send.

Only the benchmark selects this module (``DJANGO_SETTINGS_MODULE``): the ceilings run through
the same middleware, database and cache configuration as the API they are compared with.
"""

from edgeplug.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.web.urls"

# The *_uncached targets name a new subdomain of this in each request (report.lua, cpu.py):
# the catalogue is cached by absolute URL, so each is a miss, with the query string of the
# cached target (the API refuses a query parameter it does not publish).
CACHE_MISS_DOMAIN = "bench.localhost"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, f".{CACHE_MISS_DOMAIN}"]  # noqa: F405
