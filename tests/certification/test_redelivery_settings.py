"""A task is redelivered only once its worker must be gone: the broker's visibility timeout
outlasts the longest time a live worker holds a certification task."""

import pytest
from django.conf import settings

from certification import tasks


def test_a_running_stage_is_never_handed_to_a_second_worker():
    longest_countdown = min(300, 5 * 2 ** (tasks.STAGE_MAX_RETRIES - 1))
    assert settings.CELERY_VISIBILITY_TIMEOUT_S > tasks.STAGE_HARD_LIMIT_S
    assert longest_countdown < settings.CELERY_VISIBILITY_TIMEOUT_S


def test_redis_workers_look_for_abandoned_tasks_more_often_than_the_timeout():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the filesystem broker has no visibility timeout (docs/architecture.md)")
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] == settings.CELERY_VISIBILITY_TIMEOUT_S
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_restore_interval"] < settings.CELERY_VISIBILITY_TIMEOUT_S


def test_a_worker_killed_while_restoring_does_not_stop_the_others_for_long():
    """kombu guards its restore sweep with a Redis lock that a SIGKILLed holder never releases:
    it must expire well within the visibility timeout (kombu's default is 300 s, which made the
    fault test's 10 s timeout wait minutes when a kill landed during a sweep)."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the filesystem broker has no visibility timeout (docs/architecture.md)")
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["unacked_mutex_expire"] <= settings.CELERY_VISIBILITY_TIMEOUT_S // 2
