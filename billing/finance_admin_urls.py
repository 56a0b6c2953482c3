"""URLs of the finance pages, mounted under /admin/billing/finance/ (edgeplug/urls.py)."""

from django.urls import include, path

from billing import finance_admin as views

# The exports page and the files it offers, mounted under exports/ in urlpatterns.
export_urls = [
    path("", views.exports_page, name="billing_finance_exports"),
    path("invoices.csv", views.invoices_csv, name="billing_finance_invoices_csv"),
    path("lines.csv", views.lines_csv, name="billing_finance_lines_csv"),
    path("pdfs.zip", views.pdfs_zip, name="billing_finance_pdfs_zip"),
]

urlpatterns = [
    path("exports/", include(export_urls)),
    path("close/", views.close_period, name="billing_finance_close_period"),
    path("payouts/", views.payouts_page, name="billing_finance_payouts"),
    path(
        "payouts/<int:vendor_id>/statement.csv",
        views.payout_statement_csv,
        name="billing_finance_payout_statement",
    ),
    # A month's PDF archive, built by a worker: asked for (POST), then its ZIP once ready.
    path("exports/pdf-archives/", views.request_pdf_archive, name="billing_finance_pdf_archives"),
    path(
        "exports/pdf-archives/<int:pk>.zip", views.pdf_archive, name="billing_finance_pdf_archive"
    ),
    path("charts/", views.charts_page, name="billing_finance_charts"),
]
