"""The test suite keeps what it writes in a temporary directory, never in the checkout's var/.

``tests/var_isolation.py`` (loaded by pyproject's addopts) points EDGEPLUG_VAR_DIR at a fresh
temporary directory before Django reads its settings; these checks fail if that plugin stops
being loaded or if a file the embedded default creates on first use escapes it.
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings

from certification.certificates import platform_keys
from tests import var_isolation


def test_the_var_dir_is_temporary_and_outside_the_checkout():
    var = Path(settings.VAR_DIR).resolve()
    assert var.is_relative_to(Path(tempfile.gettempdir()).resolve()), var
    assert not var.is_relative_to(Path(settings.BASE_DIR).resolve()), var


def test_keys_made_on_first_use_land_in_the_temporary_var_dir(db, settings):
    settings.PLATFORM_SIGNING_KEYS_GENERATE = True  # as the embedded default (SQLite) does
    platform_keys._embedded_config()  # creates platform-keys.json if this run has none yet
    var = Path(settings.VAR_DIR)
    assert (var / "platform-keys.json").is_file()
    if not os.environ.get("SECRET_KEY"):
        assert (var / "secret_key").is_file()
    checkout_var = Path(settings.BASE_DIR) / "var"
    for name in ("secret_key", "platform-keys.json", "edgeplug.sqlite3", "test_edgeplug.sqlite3"):
        path = checkout_var / name
        assert not path.exists() or path.stat().st_mtime < var_isolation.STARTED, (
            f"{path} was written during the test run"
        )


def test_each_pytest_worker_has_a_redis_database_of_its_own():
    """Under pytest-xdist (scripts/test.sh runs one worker a core), worker gw<n> takes REDIS_URL's
    database minus n: the tests clear their database and their Celery worker's tasks wait
    there, so two workers never share one."""
    of = var_isolation.redis_url_of_worker
    assert of("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert of("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/14"
    assert of("redis://:secret@127.0.0.1:6379/1", "gw3") == "redis://:secret@127.0.0.1:6379/14"
    assert of("redis://127.0.0.1:6379", "gw2") == "redis://127.0.0.1:6379/14"
