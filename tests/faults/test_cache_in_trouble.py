"""A Redis that is up but in trouble answers with errors about itself, not about our commands:
busy in a script, unable to save its snapshot, out of memory, a replica that cannot take
writes or has lost its master, a primary that has lost the replicas it must write to. The
cache outage rule (edgeplug/core/cache_outage.py) rides these out as it does a Redis it cannot
reach: customers still browse, the throttles let requests through and each place says so in
the log. The Redis is a private redis-server that the test puts in trouble, never the
suite's."""

import logging
import shutil
import socket
from contextlib import contextmanager
from functools import partial

import pytest

from tests.commerce.conftest import catalogue, outage_log, redis_cache_at
from tests.network import refusing_port
from tests.processes import wait_for

pytestmark = pytest.mark.django_db

THROTTLES_RIDDEN_OUT = {
    "cache unavailable while counting a request against the anon throttle",
    "cache unavailable while counting a request against the user throttle",
}
RIDDEN_OUT = THROTTLES_RIDDEN_OUT | {"cache unavailable while reading the cached catalogue"}
# A Redis that still reads but refuses writes serves the catalogue's read (its generation is
# a database row: nothing is written to read); only storing the answer fails.
WRITES_RIDDEN_OUT = THROTTLES_RIDDEN_OUT | {"cache unavailable while storing a catalogue answer"}


@pytest.fixture
def cache(private_redis, settings):
    """The suite's own Redis cache settings (its timeouts), on the private Redis."""
    redis_cache_at(settings, private_redis.url)
    return private_redis


def _ok(redis, *words: str) -> None:
    reply = redis.command(*words)
    assert reply.startswith("+OK"), reply


@contextmanager
def busy_in_a_script(redis):
    """Every command refused: "BUSY Redis is busy running a script"."""
    _ok(redis, "CONFIG", "SET", "lua-time-limit", "100")
    with socket.create_connection(("127.0.0.1", redis.port)) as stuck:
        stuck.sendall(b'EVAL "while true do end" 0\r\n')
        try:
            assert wait_for(lambda: redis.command("PING").startswith("-BUSY"), 20), "not busy"
            yield
        finally:
            redis.command("SCRIPT", "KILL")


@contextmanager
def unable_to_save(redis):
    """Writes refused: "MISCONF ... unable to persist to disk"."""
    shutil.rmtree(redis.workdir)  # its working directory, where it saves: a lost disk
    _ok(redis, "CONFIG", "SET", "save", '"3600 1"')
    try:
        redis.command("BGSAVE")
        assert wait_for(
            lambda: "rdb_last_bgsave_status:err" in redis.command("INFO", "persistence"), 20
        ), "its save did not fail"
        assert redis.command("SET", "any", "thing").startswith("-MISCONF")
        yield
    finally:  # with a save point it would not stop: its last save fails
        _ok(redis, "CONFIG", "SET", "save", '""')


@contextmanager
def out_of_memory(redis):
    """Writes refused: "OOM command not allowed when used memory > 'maxmemory'"."""
    _ok(redis, "CONFIG", "SET", "maxmemory-policy", "noeviction")
    _ok(redis, "CONFIG", "SET", "maxmemory", "1")
    try:
        yield
    finally:
        _ok(redis, "CONFIG", "SET", "maxmemory", "0")


@contextmanager
def replica_of_a_lost_master(redis, *, serve_stale: bool):
    """A failover left it a replica whose master is gone: writes refused ("READONLY"), and
    reads too when it may not serve stale data ("MASTERDOWN")."""
    _ok(redis, "CONFIG", "SET", "replica-serve-stale-data", "yes" if serve_stale else "no")
    with refusing_port() as lost:
        _ok(redis, "REPLICAOF", "127.0.0.1", str(lost))
        try:
            yield
        finally:
            _ok(redis, "REPLICAOF", "NO", "ONE")


@contextmanager
def without_its_replicas(redis):
    """A primary set to write only while a replica confirms (``min-replicas-to-write``) that
    has lost its replicas: writes refused ("NOREPLICAS Not enough good replicas to write")."""
    _ok(redis, "CONFIG", "SET", "min-replicas-to-write", "1")
    try:
        assert redis.command("SET", "any", "thing").startswith("-NOREPLICAS")
        yield
    finally:
        _ok(redis, "CONFIG", "SET", "min-replicas-to-write", "0")


# Each trouble, and what went on without the cache. Out of memory, Redis still runs the
# throttle's script: its first write only frees memory, and a script that has written may go
# on writing (so that it stays atomic). The catalogue's own write is refused.
TROUBLES = {
    "busy_in_a_script": (busy_in_a_script, RIDDEN_OUT),
    "unable_to_save": (unable_to_save, WRITES_RIDDEN_OUT),
    "out_of_memory": (out_of_memory, {"cache unavailable while storing a catalogue answer"}),
    "read_only_replica": (partial(replica_of_a_lost_master, serve_stale=True), WRITES_RIDDEN_OUT),
    "replica_without_master": (partial(replica_of_a_lost_master, serve_stale=False), RIDDEN_OUT),
    "primary_without_replicas": (without_its_replicas, WRITES_RIDDEN_OUT),
}


@pytest.mark.parametrize("trouble", TROUBLES)
def test_a_redis_in_trouble_is_ridden_out(
    trouble, cache, api, agent, published, certificate, caplog
):
    caplog.set_level(logging.WARNING, logger="edgeplug.core.cache_outage")
    troubled, ridden_out = TROUBLES[trouble]

    with troubled(cache):
        assert catalogue(api) == [agent.pk]

    assert outage_log(caplog) == ridden_out
