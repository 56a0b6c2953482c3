"""Workflow packages: upload a signed WPK document, follow its review."""

import json

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from edgeplug.core.parsers import read_request_body
from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace import wpk as wpk_actions
from marketplace.models import WorkflowPackage
from marketplace.portal.access import vendor_page
from marketplace.portal.forms import WpkForm
from marketplace.portal.outcomes import perform, render_form
from marketplace.powers import PUBLISH


def _document(upload) -> dict:
    raw = wpk_actions.read_document_file(upload)
    document = read_request_body(raw)  # as the API reads the same document sent as its body
    wpk_actions.reject_malformed_document(document)
    return document


def _upload(tenant, upload, *, actor, request) -> wpk_actions.WpkUploadResult:
    document = _document(upload)
    return wpk_actions.upload_wpk(
        tenant,
        name=document["name"],
        version=document["version"],
        content=document["content"],
        signature_b64=document["signature"],
        key_id=document["key_id"],
        actor=actor,
        request=request,
    )


@require_http_methods(["GET", "POST"])
def wpk_list(request):
    """The list for every member; uploading (the POST) for publishers only, refused for
    another role before the request budget counts it (``vendor_page``'s order)."""
    if request.method == "POST":
        return _upload_page(request)
    return _list_page(request)


def _render(request, form: WpkForm, error=None):
    context = {
        "wpks": for_request(WorkflowPackage.objects.select_related("signing_key"), request),
    }
    return render_form(request, "portal/wpks.html", context, form=form, error=error)


@vendor_page
def _list_page(request):
    return _render(request, WpkForm())


@vendor_page(power=PUBLISH)
def _upload_page(request):
    form = WpkForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form)
    outcome = perform(
        request,
        _upload,
        request.tenant,
        form.cleaned_data["document"],
        success=lambda result: f"{result.wpk} is uploaded and waits for review.",
    )
    if outcome.error is None:
        return redirect("portal:wpk", pk=outcome.result.wpk.pk)
    return _render(request, form, outcome.error)


@require_safe
@vendor_page
def wpk_detail(request, pk):
    item = get_for_request(WorkflowPackage.objects.select_related("signing_key"), request, pk=pk)
    context = {
        "wpk": item,
        "content": json.dumps(item.content, indent=2, ensure_ascii=False),
        "uncertified": wpk_actions.uncertified_steps(item),
    }
    return render(request, "portal/wpk.html", context)
