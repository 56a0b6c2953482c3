"""A task sent the way the product sends it is run by a real Celery worker process."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from edgeplug.accounts.tasks import flush_expired_tokens
from edgeplug.health.models import TaskCounter
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


def test_worker_flushes_expired_tokens_and_counts_the_task(celery_worker_process):
    user = UserFactory()
    now = timezone.now()
    OutstandingToken.objects.create(
        user=user, jti="old", token="x", created_at=now, expires_at=now - timedelta(days=1)
    )
    OutstandingToken.objects.create(
        user=user, jti="new", token="y", created_at=now, expires_at=now + timedelta(days=1)
    )
    result = flush_expired_tokens.delay()
    assert result.get(timeout=90) == 1
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["new"]
    # The worker stores the result before it sends task_success, which the counter follows.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        states = dict(
            TaskCounter.objects.filter(
                task="edgeplug.accounts.tasks.flush_expired_tokens"
            ).values_list("state", "count")
        )
        if "succeeded" in states:
            break
        time.sleep(0.2)
    assert states["sent"] >= 1
    assert states["started"] >= 1
    assert states["succeeded"] >= 1
