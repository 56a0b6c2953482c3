"""Fixtures of the fault tests: real components the test may break.

Fixtures of other folders are reused here: the sample firmware (a fault in the hardware
stage), a customer's metered device (ingest), a published agent and localstripe (webhooks).
"""

import pytest

from tests.certification.conftest import m4_firmware  # noqa: F401
from tests.commerce.conftest import (  # noqa: F401
    agent,
    certificate,
    customer,
    localstripe,
    make_plan,
    published,
    stripe_on,
)
from tests.faults.components import REDIS_SERVER, PrivateRedis
from tests.metering.conftest import metered  # noqa: F401


@pytest.fixture
def private_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: no private broker to stop")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()
