"""A yank stays out of the cached catalogue whatever Redis went through meanwhile: a crash and a
restart from its last snapshot (``redis:7`` as docker-compose.yml runs it saves one by default,
``save 3600 1 300 100 60 10000``), or a network split during which the yank could not reach
it. The catalogue's generation was a key in the same Redis as the answers: the snapshot
restored both, generation and answers from before the yank, and a split left the generation
unchanged, so customers were listed the yanked version again until the entries expired
(``CATALOGUE_CACHE_SECONDS``). The generation is now a row in the database."""

import shutil
import socket
import subprocess

import pytest

from tests.commerce.conftest import catalogue, redis_cache_at
from tests.factories import AgentFactory, AgentVersionFactory
from tests.network import free_port, listening, refusing_port
from tests.processes import wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


class DefaultRedis:
    """redis-server with no configuration but its port and folder, as the redis:7 image runs
    it (its data in its working directory, /data in the image)."""

    def __init__(self, workdir):
        self.port, self.workdir, self.process = free_port(), workdir, None

    def start(self) -> None:
        address = ["--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            ["redis-server", *address, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: listening(self.port), 20)

    def crash(self) -> None:
        self.process.kill()  # SIGKILL: the OOM killer, a lost node
        self.process.wait(timeout=20)

    def command(self, *words: str) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall((" ".join(words) + "\r\n").encode())
            return conn.recv(4096).decode()

    def snapshot(self) -> None:
        """One of its periodic snapshots, taken now."""
        assert self.command("BGSAVE").startswith("+")
        assert wait_for(lambda: "rdb_bgsave_in_progress:0" in self.command("INFO", "persistence"))


@pytest.fixture
def redis(tmp_path, settings):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: this test crashes and restarts its own")
    server = DefaultRedis(tmp_path)
    server.start()
    location = f"redis://127.0.0.1:{server.port}/0"
    redis_cache_at(settings, location)
    server.location = location
    yield server
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=20)


def _cache_answers() -> bool:
    from django.core.cache import cache

    try:
        cache.get("anything")
    except Exception:  # noqa: BLE001 - the pool's connections to the killed server
        return False
    return True


@pytest.fixture
def listed_twice(vendor):
    """An agent of ``vendor`` with two public versions, 1.1.0 the newest."""
    agent = AgentFactory(tenant=vendor.tenant)
    AgentVersionFactory(agent=agent, version="1.0.0", public=True)
    AgentVersionFactory(agent=agent, version="1.1.0", public=True)
    return agent


def _newest(client) -> list[str]:
    return [latest["version"] for latest in catalogue(client, "latest_version")]


def _yank(vendor, agent, capture) -> None:
    with capture(execute=True):
        yank = vendor.client.post(
            f"/api/v1/agents/{agent.pk}/versions/1.1.0/yank", {"reason": "CVE-2026-0001"}
        )
    assert yank.status_code == 200, yank.json()


def test_a_yank_stays_yanked_for_customers_after_redis_restarts_from_a_snapshot(
    redis, vendor, api, listed_twice, django_capture_on_commit_callbacks
):
    assert "save" in redis.command("CONFIG", "GET", "save")
    assert _newest(api) == ["1.1.0"]  # cached
    redis.snapshot()

    _yank(vendor, listed_twice, django_capture_on_commit_callbacks)
    assert _newest(api) == ["1.0.0"]

    redis.crash()
    redis.start()  # the same folder: its last snapshot, taken before the yank
    assert wait_for(_cache_answers, 20)
    assert _newest(api) == ["1.0.0"], "the yanked 1.1.0 is back in the catalogue"


def test_a_yank_made_while_redis_was_out_of_reach_stays_yanked_once_it_is_back(
    redis, settings, vendor, api, listed_twice, django_capture_on_commit_callbacks
):
    assert _newest(api) == ["1.1.0"]  # cached

    with refusing_port() as port:  # a network split: the answers stay in Redis, unreached
        redis_cache_at(settings, f"redis://127.0.0.1:{port}/0")
        _yank(vendor, listed_twice, django_capture_on_commit_callbacks)
        assert _newest(api) == ["1.0.0"]  # read from the database meanwhile

    redis_cache_at(settings, redis.location)
    assert _newest(api) == ["1.0.0"], "the answer stored before the yank is served again"
