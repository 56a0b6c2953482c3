#!/usr/bin/env bash
# Install what is needed, then run EdgePlug on its embedded default (SQLite, file storage,
# filesystem broker under var/): migrations, demo data, web on 127.0.0.1:8000, worker, beat.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# runstack serves on 127.0.0.1: /metrics open without a token there, as on any development
# machine (docs/operations.md, Monitoring), unless the caller chose otherwise, or another
# address (--host) where others may reach it.
case " $* " in
  *" --host"*) ;;
  *) export METRICS_OPEN_WITHOUT_TOKEN="${METRICS_OPEN_WITHOUT_TOKEN:-true}" ;;
esac
exec .venv/bin/python manage.py runstack "$@"
