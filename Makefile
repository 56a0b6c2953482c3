.PHONY: run test setup lint format bench sbom proto

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
bench:  ## latency and memory figures (TFLM models, firmware on QEMU): a table, and JSON in $(BENCH_OUT)
	.venv/bin/python -m certification.bench --out $(BENCH_OUT)

SBOM_OUT ?= var/sbom/edgeplug.cdx.json
sbom:  ## the project's own CycloneDX 1.6 SBOM of everything in .venv, to $(SBOM_OUT)
	mkdir -p $(dir $(SBOM_OUT))
	.venv/bin/cyclonedx-py environment --pyproject pyproject.toml --spec-version 1.6 \
		--output-format JSON --output-reproducible --output-file $(SBOM_OUT) .venv
