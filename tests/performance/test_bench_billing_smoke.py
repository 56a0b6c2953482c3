"""make bench-smoke: the billing benchmark (month close and rating) and the invoice PDF
benchmark run end to end at a tiny size and report every figure (no timing is asserted)."""

import json

import pytest
from django.db import connection

from tests.performance.bench_runs import bench_database_url, run_benchmark

pytestmark = pytest.mark.slow


def test_bench_billing_smoke_closes_a_month_and_rates_usage(tmp_path, bench_template_database):
    if connection.vendor != "postgresql":
        pytest.skip("bench-billing runs on PostgreSQL")
    out = tmp_path / "billing.json"
    database = bench_database_url("_billing_bench_smoke")
    done = run_benchmark(
        *("benchmarks.billing", "--smoke", "--out", str(out), "--database-url", database),
        *("--template-database", bench_template_database),
    )
    result = json.loads(out.read_text())
    assert result["smoke"] and result["commit"]
    assert result["close"]["tenants"] > 0 and result["close"]["close_s"] > 0
    assert result["rating"]["events"] > 0 and result["rating"]["rollup_rows"] > 0
    assert "month close" in done.stdout and "rating a tenant-month" in done.stdout


def test_bench_invoices_renders_pdfs_and_reports_the_rate(tmp_path):
    out = tmp_path / "invoices.json"
    done = run_benchmark("benchmarks.invoices_pdf", "--count", "2", "--out", str(out))
    result = json.loads(out.read_text())
    assert result["count"] == 2 and result["invoices_per_second"] > 0
    assert result["pdf_bytes"] > 0
    assert "invoices/second" in done.stdout
