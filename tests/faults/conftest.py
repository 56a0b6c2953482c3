"""Fixtures of the fault tests: real components the test may break."""

import pytest

# The sample firmware (built once per session) for faults in the hardware stage.
from tests.certification.conftest import m4_firmware  # noqa: F401
from tests.faults.components import REDIS_SERVER, PrivateRedis


@pytest.fixture
def private_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: no private broker to stop")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()
