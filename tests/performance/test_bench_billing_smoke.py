"""make bench-smoke: the billing benchmark (month close and rating) and the invoice PDF
benchmark run end to end at a tiny size and report every figure (no timing is asserted)."""

import json

import pytest
from django.db import connection

from tests.performance.bench_runs import run_benchmark

pytestmark = pytest.mark.slow


def test_bench_billing_smoke_closes_a_month_and_rates_usage(run_smoke):
    if connection.vendor != "postgresql":
        pytest.skip("bench-billing runs on PostgreSQL")
    result, printed = run_smoke("benchmarks.billing", database="_billing_bench_smoke")
    assert result["smoke"] and result["commit"]
    assert result["close"]["tenants"] > 0 and result["close"]["close_s"] > 0
    assert result["rating"]["events"] > 0 and result["rating"]["rollup_rows"] > 0
    assert "month close" in printed and "rating a tenant-month" in printed


def test_bench_invoices_renders_pdfs_and_reports_the_rate(tmp_path):
    out = tmp_path / "invoices.json"
    done = run_benchmark("benchmarks.invoices_pdf", "--count", "2", "--out", str(out))
    result = json.loads(out.read_text())
    assert result["count"] == 2 and result["invoices_per_second"] > 0
    assert result["pdf_bytes"] > 0
    assert "invoices/second" in done.stdout


@pytest.mark.parametrize("option", ["--count", "--lines"])
def test_bench_invoices_refuses_none_to_render(tmp_path, capsys, option):
    """COUNT=0 ended in an IndexError after the warm-up; now wrong usage, said (exit 2)."""
    from benchmarks import invoices_pdf

    with pytest.raises(SystemExit) as refused:
        invoices_pdf.main([option, "0", "--out", str(tmp_path / "x.json")])
    assert refused.value.code == 2
    assert f"{option}: '0' is not a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
