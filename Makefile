.PHONY: run test setup lint format bench bench-invoices bench-web bench-gunicorn bench-ingest bench-billing bench-certification bench-smoke soak sbom screenshots proto

# make run PORT=8001 serves on another port; make test ARGS='-m "not slow"' passes ARGS to pytest.
PORT ?=
ARGS ?=

run:  ## install everything and run the service on the embedded default
	scripts/run.sh $(if $(PORT),--port $(PORT))

test:  ## install everything and run lint + the whole test suite (ARGS go to pytest)
	scripts/test.sh $(ARGS)

setup:  ## install system packages, .venv and requirements only
	scripts/bootstrap.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports --no-cache

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

proto:  ## regenerate the gRPC Python code (edgeplug/usage/v1/...) from proto/
	scripts/protoc.sh

BENCH_OUT ?= var/bench/bench.json
bench:  ## every benchmark: TFLM/QEMU latency and memory, web, gunicorn configurations, ingest, invoice PDFs, billing, certification; tables, JSON in var/bench/, then every figure beside its goal
	.venv/bin/python -m benchmarks.tflm_qemu --out $(BENCH_OUT)
	$(MAKE) bench-web
	$(MAKE) bench-gunicorn
	$(MAKE) bench-ingest
	$(MAKE) bench-invoices
	$(MAKE) bench-billing
	$(MAKE) bench-certification
	.venv/bin/python -m benchmarks.summary

# The ingest benchmark starts gunicorn and manage.py grpcserver against PostgreSQL and Redis:
# BENCH_INGEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/edgeplug_ingest_bench;
# dropped and recreated, the name must contain "bench") and BENCH_REDIS_URL (default .../15).
BENCH_INGEST_OUT ?= var/bench/ingest.json
bench-ingest:  ## usage events/s over REST (batches of 1,000) and gRPC streaming, and a resend (0 rows), beside the goals; SMOKE=1 for a tiny run
	.venv/bin/python -m benchmarks.ingest --out $(BENCH_INGEST_OUT) $(if $(SMOKE),--smoke)

BENCH_INVOICES_OUT ?= var/bench/invoices_pdf.json
bench-invoices:  ## invoice PDF/A-3 + Factur-X rendering throughput (invoices per second); COUNT=N
	.venv/bin/python -m benchmarks.invoices_pdf --out $(BENCH_INVOICES_OUT) $(if $(COUNT),--count $(COUNT))

# The billing benchmark runs against BENCH_BILLING_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/edgeplug_bench_billing; dropped and recreated, the name
# must contain "bench").
BENCH_BILLING_OUT ?= var/bench/billing.json
bench-billing:  ## month close for many tenants and rating a tenant-month of 1M usage events, beside the goals; SMOKE=1 for a tiny run
	.venv/bin/python -m benchmarks.billing --out $(BENCH_BILLING_OUT) $(if $(SMOKE),--smoke)

# The web benchmark starts gunicorn itself against PostgreSQL and Redis (both must be running):
# BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/edgeplug_bench; the name must
# contain "bench": it is dropped and recreated) and BENCH_REDIS_URL (default .../15).
BENCH_WEB_OUT ?= var/bench/web.json
bench-web:  ## catalogue, uploads and worker memory on the full stack under wrk, beside the goals; SMOKE=1 for a tiny run
	.venv/bin/python -m benchmarks.web --out $(BENCH_WEB_OUT) $(if $(SMOKE),--smoke)

# The certification benchmark starts gunicorn and one Celery worker as the certification
# Deployment runs it (-Q certification plus simulation, concurrency 2) on BENCH_CERTIFICATION_DATABASE_URL
# (default .../edgeplug_certification_bench, dropped and recreated) and
# BENCH_CERTIFICATION_REDIS_URL (default .../13); it builds the QEMU plugin and the example
# agent's firmware (arm-none-eabi-gcc, qemu-system-arm: scripts/bootstrap.sh installs them).
BENCH_CERTIFICATION_OUT ?= var/bench/certification.json
bench-certification:  ## certification wall time per level (sample agent, one worker) and basic packages/hour with 10 at once, beside the goals; SMOKE=1 for a tiny run
	.venv/bin/python -m benchmarks.certification --out $(BENCH_CERTIFICATION_OUT) $(if $(SMOKE),--smoke)

# Gunicorn configurations (sync and gthread, worker and thread counts) on bench-web's stack and
# database (BENCH_DATABASE_URL, BENCH_REDIS_URL), each beside the deployed default (sync, 4).
# CONFIGS=sync:2,gthread:2x4 picks them; about 20 minutes at full size. Run it on a quiet machine.
BENCH_GUNICORN_OUT ?= var/bench/gunicorn.json
CONFIGS ?=
bench-gunicorn:  ## req/s, p50, p99 of the ceiling, cached list and detail, uncached list and uploads per gunicorn configuration; SMOKE=1 for a tiny run
	.venv/bin/python -m benchmarks.gunicorn_matrix --out $(BENCH_GUNICORN_OUT) $(if $(SMOKE),--smoke) \
		$(if $(CONFIGS),--configs $(CONFIGS))

bench-smoke:  ## bench-web, bench-gunicorn, bench-ingest, bench-billing, bench-certification and the soak at a tiny size, as CI runs them
	$(MAKE) bench-web SMOKE=1 BENCH_WEB_OUT=var/bench/web-smoke.json
	$(MAKE) bench-gunicorn SMOKE=1 BENCH_GUNICORN_OUT=var/bench/gunicorn-smoke.json
	$(MAKE) bench-ingest SMOKE=1 BENCH_INGEST_OUT=var/bench/ingest-smoke.json
	$(MAKE) bench-billing SMOKE=1 BENCH_BILLING_OUT=var/bench/billing-smoke.json
	$(MAKE) bench-certification SMOKE=1 BENCH_CERTIFICATION_OUT=var/bench/certification-smoke.json
	$(MAKE) soak SMOKE=1 SOAK_OUT=var/bench/soak-smoke.json

# The soak starts gunicorn and a Celery worker itself, like bench-web, on SOAK_DATABASE_URL
# (default .../edgeplug_soak_bench, dropped and recreated) and SOAK_REDIS_URL (default .../14).
# RATE=N sends N req/s; without it, 80 % of the maximum it measures first. Not run in CI.
DURATION ?= 10m
SOAK_OUT ?= var/bench/soak.json
soak:  ## mixed browse/upload/ingest/certification traffic for DURATION: errors, p99 per 30 s, RSS growth
	.venv/bin/python -m benchmarks.soak --duration $(DURATION) --out $(SOAK_OUT) \
		$(if $(RATE),--rate $(RATE)) $(if $(SMOKE),--smoke)

SBOM_OUT ?= var/sbom/edgeplug.cdx.json
sbom:  ## the project's own CycloneDX 1.6 SBOM of everything in .venv, to $(SBOM_OUT)
	mkdir -p $(dir $(SBOM_OUT))
	.venv/bin/cyclonedx-py environment --pyproject pyproject.toml --spec-version 1.6 \
		--output-format JSON --output-reproducible --output-file $(SBOM_OUT) .venv

SCREENSHOTS_DIR ?= docs/screenshots
screenshots:  ## a 1280 px screenshot of every vendor portal page, into $(SCREENSHOTS_DIR) (Chromium)
	EDGEPLUG_SCREENSHOTS_DIR=$(SCREENSHOTS_DIR) .venv/bin/python -m pytest -q -p no:cacheprovider \
		tests/browser/test_vendor_portal_pages.py
