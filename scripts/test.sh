#!/usr/bin/env bash
# Install what is needed, then run lint and the whole test suite. Uses PostgreSQL on
# 127.0.0.1:5432 and Redis on 127.0.0.1:6379 when they are there (starting them if they are
# installed but stopped); otherwise the embedded defaults. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  sleep 2
fi
if ! port_open 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/edgeplug-redis.log || true
  sleep 1
fi

if [ -z "${DATABASE_URL:-}" ] && port_open 5432; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
fi
if [ -z "${REDIS_URL:-}" ] && port_open 6379; then
  # A database of its own: the tests clear it.
  export REDIS_URL="redis://127.0.0.1:6379/15"
fi
echo "==> database: ${DATABASE_URL:-embedded SQLite}; cache/broker: ${REDIS_URL:-embedded}"

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> import layers"
.venv/bin/lint-imports --no-cache

# One pytest worker a core (pytest-xdist; PYTEST_WORKERS to choose, 0 for none), each taking a
# whole file at a time so a file's fixtures start once; each worker has its own test database
# and Redis database (tests/var_isolation.py). Arguments after these win (`-n 0`).
workers="${PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}"
[ "$workers" -gt 8 ] && workers=8
echo "==> pytest ($workers workers)"
.venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
