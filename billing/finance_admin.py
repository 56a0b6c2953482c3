"""Finance pages in the admin (finance group; the admin site itself demands a TOTP-verified
staff sign-in): the period exports (and "Close period now"), the vendor payouts with their CSV
statements, and the charts. The pages read through billing.exports, billing.payout_queries and
billing.finance_charts; downloads are streamed, but a month's PDF archive,
which a billing worker builds (billing.pdf_archives)."""

from datetime import UTC
from functools import wraps
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import exports, finance_charts, invoicing, payout_queries, pdf_archives
from billing.csv_stream import download
from billing.errors import InvalidPeriod, PeriodNotEnded
from billing.models import PdfArchive, PdfArchiveState
from billing.periods import (
    has_ended,
    last_closed_month,
    month_label,
    optional_month,
    parse_month,
    recent_months,
)
from edgeplug.audit.services import record_event
from edgeplug.core.error_views import refusal_page_response
from edgeplug.core.forms import StrictBooleanField
from edgeplug.errors import DomainError
from edgeplug.tenancy.models import StaffGroup, Tenant
from edgeplug.tenancy.permissions import in_staff_group

CHART_MONTHS = 12
EXPORTS_PAGE = "admin/billing/finance/exports.html"


def finance_page(view):
    """An admin view (staff, TOTP-verified) that only the finance group may use."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if not in_staff_group(request.user, StaffGroup.FINANCE):
            raise PermissionDenied("Finance pages are for the finance group.")
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


def _period(request, default=None):
    """The month asked for (``?period=YYYY-MM``), by default (no ``period`` at all) the last
    closed month; an empty one is ``InvalidPeriod``, as the API's (``optional_month``)."""
    month = optional_month(request.GET.get("period"))
    return month or default or last_closed_month(timezone.now())


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


def for_period(back_to: str):
    """The view is called with ``start``, the month asked for (``?period=YYYY-MM``, by default
    the last closed month); a malformed period is flashed and redirects to ``back_to``."""

    def decorate(view):
        @wraps(view)
        def with_period(request, *args, **kwargs):
            try:
                start = _period(request)
            except InvalidPeriod as exc:
                messages.error(request, exc.detail)
                return redirect(reverse(back_to))
            return view(request, start, *args, **kwargs)

        return with_period

    return decorate


# --- exports ----------


@finance_page
def exports_page(request):
    try:
        start = _period(request)
    except InvalidPeriod as exc:
        messages.error(request, exc.detail)
        start = last_closed_month(timezone.now())
    return render(request, EXPORTS_PAGE, _exports_context(request, start))


def _exports_context(request, start) -> dict:
    period = month_label(start)
    archives = pdf_archives.month_archives(start)
    finalized = exports.period_invoices(start).count()
    return _context(
        request,
        f"Exports for {period}",
        period=period,
        # The "has not ended yet" box only for a month that has not (close_period_now).
        period_ended=has_ended(start, timezone.now()),
        finalized=finalized,
        drafts=exports.period_invoices(start, include_drafts=True).count() - finalized,
        archives=archives,
        # The page reloads itself while an archive is built, to show its progress.
        refresh=any(archive.in_progress for archive in archives),
    )


def _exports_refusal(request, start, refusal: DomainError):
    """The month's Exports page saying why a download was refused, with the refusal's status
    (and ``Retry-After``, if one), its code in the message's tags, as the invoice PDF's
    refusal is said on its change page."""
    messages.error(request, refusal.detail, extra_tags=refusal.code)
    return refusal_page_response(request, EXPORTS_PAGE, _exports_context(request, start), refusal)


def _back_to_exports(label: str):
    return redirect(f"{reverse('billing_finance_exports')}?{urlencode({'period': label})}")


@finance_page
@require_POST
def request_pdf_archive(request):
    """Queue the month's PDF archive for the billing worker (``pdf_archives``); asked again
    while it is built, the same archive."""
    label = request.POST.get("period", "")
    try:
        start = parse_month(label)
    except InvalidPeriod as refusal:
        messages.error(request, refusal.detail)
        return redirect("billing_finance_exports")
    archive = pdf_archives.request_pdf_archive(start, actor=request.user)
    messages.success(request, f"The PDF archive of {label} is being built ({archive.state}).")
    return _back_to_exports(label)


@finance_page
def pdf_archive(request, pk: int):
    """A ready PDF archive, recorded as a ``finance_export`` audit event; one not ready (or
    none, or its file gone) is 404; an expired one (its file deleted after its retention) or
    the store failing, the Exports page saying so (410, 503)."""
    archive = get_object_or_404(
        PdfArchive, pk=pk, state__in=(PdfArchiveState.READY, PdfArchiveState.EXPIRED)
    )
    period = month_label(archive.period_start)
    try:
        content = pdf_archives.open_pdf_archive(archive)
    except DomainError as refusal:
        return _exports_refusal(request, archive.period_start, refusal)
    if content is None:
        raise Http404("The archive's file is gone; ask for it again.")
    record_event(
        "finance_export",
        request=request,
        target=f"pdf_archive {period}",
        details={"export": "pdf_archive", "period": period, "archive": archive.pk},
    )
    return FileResponse(
        content,
        as_attachment=True,
        filename=f"invoices-{period}.zip",
        content_type="application/zip",
    )


@finance_page
@require_POST
def close_period(request):
    """Close the chosen month now through ``invoicing.close_period_now`` (audited); a month
    that has not ended only with the "not ended yet" box ticked."""
    label = request.POST.get("period", "")
    try:
        result = invoicing.close_period_now(
            parse_month(label),
            force=request.POST.get("force") == "1",
            actor=request.user,
            request=request,
            via="admin",
        )
    except InvalidPeriod as refusal:  # back to the page's own month: it would say this again
        messages.error(request, refusal.detail)
        return redirect("billing_finance_exports")
    except PeriodNotEnded as refusal:
        messages.error(request, refusal.detail)
        return _back_to_exports(label)
    messages.success(request, f"Closed {label}: {result.summary()}.")
    return redirect(f"{reverse('admin:billing_invoice_changelist')}?period={label}")


def _drafts_asked(request) -> bool:
    """``?drafts=`` read as the API reads true or false (``StrictBooleanField``); absent is
    no; anything else, empty too, ``ValidationError`` saying it is not understood (it was read
    as no, so ``drafts=true`` left the drafts out)."""
    given = request.GET.get("drafts")
    if given is None:
        return False
    field = StrictBooleanField()
    try:
        asked = field.clean(given)
    except ValidationError:
        asked = None
    if asked is None:
        said = field.error_messages["invalid"]
        raise ValidationError(f"drafts={given!r} is not understood: {said}", code="invalid")
    return asked


def _export_view(kind: str, build, filename: str, content_type: str, too_big=None):
    """A finance download: ``build(start, include_drafts=...)`` for the month asked for, saved as
    ``filename`` (``{period}`` filled in), recorded as a ``finance_export`` audit event. A month
    ``too_big(start)`` says why not to stream goes back to the exports page saying it."""

    @for_period("billing_finance_exports")
    def export(request, start):
        try:
            include_drafts = _drafts_asked(request)
        except ValidationError as refusal:
            messages.error(request, refusal.message)
            return _back_to_exports(month_label(start))
        if too_big and (why := too_big(start)):
            messages.warning(request, why)
            return _back_to_exports(month_label(start))
        chunks = build(start, include_drafts=include_drafts)
        record_event(
            "finance_export",
            request=request,
            target=f"{kind} {month_label(start)}",
            details={"export": kind, "period": month_label(start), "drafts": include_drafts},
        )
        return download(chunks, filename.format(period=month_label(start)), content_type)

    export.__name__ = kind
    return finance_page(export)


def _pdf_zip(start, *, include_drafts: bool):
    return exports.pdf_zip(start, exports.default_pdf_renderer())  # finalized invoices only


_CSV = "text/csv; charset=utf-8"
invoices_csv = _export_view("invoices_csv", exports.invoices_csv, "invoices-{period}.csv", _CSV)
lines_csv = _export_view("lines_csv", exports.lines_csv, "invoice-lines-{period}.csv", _CSV)
pdfs_zip = _export_view(
    "pdfs_zip",
    _pdf_zip,
    "invoices-{period}.zip",
    "application/zip",
    too_big=pdf_archives.too_many_to_stream,
)


# --- vendor payouts ----------


@finance_page
@for_period("billing_finance_payouts")
def payouts_page(request, start):
    period = month_label(start)
    return render(
        request,
        "admin/billing/finance/payouts.html",
        _context(
            request,
            f"Vendor payouts for {period}",
            period=period,
            payouts=payout_queries.vendor_payouts(start),
        ),
    )


@finance_page
@for_period("billing_finance_payouts")
def payout_statement_csv(request, start, vendor_id: int):
    # Any tenant the payouts page lists (a former vendor too): its statement decides.
    vendor = get_object_or_404(Tenant, pk=vendor_id)
    period = month_label(start)
    found = payout_queries.vendor_statement(vendor, start)  # 404: none, as for the vendor
    record_event(
        "finance_export",
        request=request,
        tenant=vendor,
        target=f"payout statement {vendor.slug} {period}",
        details={"export": "payout_statement", "period": period, "vendor": vendor.pk},
    )
    return download(*payout_queries.statement_file(vendor, found))


# --- charts ----------


@finance_page
@for_period("billing_finance_charts")
def charts_page(request, start):
    period = month_label(start)
    months = recent_months(CHART_MONTHS, start)
    by_month = [
        finance_charts.bar_chart(f"Revenue by month, {currency}", currency, series)
        for currency, series in finance_charts.revenue_by_month(months).items()
    ]
    by_vendor = [
        finance_charts.bar_chart(f"Revenue by vendor, {period}, {currency}", currency, series)
        for currency, series in finance_charts.revenue_by_vendor(start).items()
    ]
    receivables = finance_charts.receivables(timezone.now().astimezone(UTC).date())
    due = [
        finance_charts.bar_chart(
            f"Outstanding and overdue, {row.currency}",
            row.currency,
            [("outstanding", row.outstanding), ("overdue", row.overdue)],
            width=360,
        )
        for row in receivables
    ]
    return render(
        request,
        "admin/billing/finance/charts.html",
        _context(
            request,
            f"Finance charts for {period}",
            period=period,
            first_month=month_label(months[0]),
            by_month=by_month,
            by_vendor=by_vendor,
            due=due,
            receivables=receivables,
        ),
    )
