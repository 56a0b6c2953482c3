"""The embedded default's file cache (var/cache) loses its expired entries to a beat job:
Django deletes an expired entry's file only when its key is read again (or culls at random
once MAX_ENTRIES files are there), so each catalogue URL a visitor or a crawler asks left its
file for good, and every write lists them all. Entries still valid stay."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_cache(settings, tmp_path):
    """The embedded default's cache (edgeplug/settings.py without REDIS_URL), in a folder."""
    folder = tmp_path / "cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(folder),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    return folder


def run_cache_beat_job() -> int:
    """The cache job the beat schedule names, run in this process."""
    from edgeplug.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["remove-expired-cache-entries"]
    return app.tasks[entry["task"]].apply().get()


def entries(folder) -> int:
    return len(list(folder.glob("*.djcache")))


def test_expired_catalogue_entries_leave_the_embedded_cache(file_cache, time_machine):
    time_machine.move_to("2026-12-07 10:00Z", tick=False)
    anonymous = Client()
    for page in range(40):
        assert anonymous.get(f"/api/v1/agents?search=pump{page}").status_code == 200
    stored = entries(file_cache)
    assert stored >= 40

    time_machine.move_to("2026-12-08 10:00Z", tick=False)  # a day later: every page expired
    removed = run_cache_beat_job()
    left = entries(file_cache)  # what never expires (the catalogue's generation)
    assert (removed + left, left <= 2) == (stored, True)


def test_entries_still_valid_are_kept(file_cache, time_machine):
    time_machine.move_to("2026-12-07 10:00Z", tick=False)
    cache = caches["default"]
    cache.set("for-a-minute", "gone", 60)
    cache.set("for-an-hour", "kept", 3600)
    cache.set("for-ever", "kept too", None)

    time_machine.move_to("2026-12-07 10:30Z", tick=False)
    assert run_cache_beat_job() == 1
    assert (entries(file_cache), cache.get("for-an-hour"), cache.get("for-ever")) == (
        2,
        "kept",
        "kept too",
    )


def test_nothing_to_do_on_a_cache_that_expires_its_own_entries():
    assert run_cache_beat_job() == 0  # the test settings' cache: Redis
