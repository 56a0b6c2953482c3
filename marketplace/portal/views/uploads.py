"""Upload a signed package (and its .sig) and submit it for certification (the same bytes again
keep the certification their version has under way or passed, as the API's upload does).

The browser sends the form with XMLHttpRequest to show upload progress and gets JSON back
(a refusal, or where to go next); without JavaScript the same view answers with pages.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from certification.errors import NotQueued
from edgeplug import signing
from edgeplug.errors import DomainError
from edgeplug.tenancy.scoping import for_request
from marketplace import services
from marketplace.errors import UnknownKey
from marketplace.models import AgentVersion, VendorKey
from marketplace.portal.access import vendor_page, wants_json
from marketplace.portal.forms import UploadForm
from marketplace.portal.refusals import refusal
from marketplace.portal.submissions import submit_upload_and_queue
from marketplace.powers import PUBLISH
from marketplace.storage import package_limits
from marketplace.uploads import PackageUploadHandler, package_bytes

MAX_SIGNATURE_BYTES = 1024


def version_url(version: AgentVersion) -> str:
    return reverse("portal:version", args=[version.agent_id, version.version])


def _signature_text(upload) -> str:
    raw = upload.read(MAX_SIGNATURE_BYTES + 1)
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise signing.MalformedSignature("A .sig file holds one base64 signature.")
    return raw.decode("ascii", errors="replace").strip()


def _signing_key_id(request, data, signature_b64: str, chosen: str) -> str:
    """The key the vendor picked, else the registered key whose signature this is, found as
    the CLI finds it (``signing.signer_of``), revoked ones included so that the upload answers
    ``key_revoked`` as the API does; ``unknown_key`` when none of them made it."""
    if chosen:
        return chosen
    signature = signing.decode_signature(signature_b64)  # malformed_signature, as the API
    keys = for_request(VendorKey.objects.all(), request).values_list("key_id", "public_key")
    found = signing.signer_of(signing.package_digest(data), signature, keys)
    if found is None:
        raise UnknownKey(
            "None of your registered keys made this signature of this package: check that the "
            "signature file is this package's (a signature of another file verifies under no "
            "key), register the key on the Keys page, or choose the key it was made with."
        )
    return found


def _store(request, form: UploadForm) -> AgentVersion:
    data = form.cleaned_data
    upload = data["package"]
    signature = _signature_text(data["signature"])
    with package_bytes(upload) as package:
        key_id = _signing_key_id(request, package, signature, data["key_id"])
        result = services.upload_package(
            request.tenant,
            package,
            signature,
            key_id,
            blob=upload,
            actor=request.user,
            request=request,
        )
    version = result.version
    if not result.created:
        messages.info(request, "These bytes were uploaded before: here is that version.")
    if data["certify"]:
        try:
            certification = submit_upload_and_queue(
                version, data["level"], actor=request.user, request=request
            )
        except NotQueued as exc:
            messages.error(request, f"{exc.code}: {exc.detail}")
        except DomainError as exc:
            messages.warning(request, f"Not submitted for certification: {exc.detail}")
        else:
            kept = certification.not_restarted
            if kept:
                messages.info(request, f"Not submitted for certification again: {kept['detail']}")
            else:
                messages.success(request, f"Run {certification.run.pk} is queued.")
    return version


@csrf_exempt
@require_http_methods(["GET", "POST"])
@vendor_page(power=PUBLISH)
def upload(request):
    # The package streams to a capped temporary file, so the handler is set before the body
    # is read, and CSRF is checked (below) only after that.
    request.upload_handlers = [PackageUploadHandler(request, limits=package_limits())]
    try:
        return _upload(request)
    except DomainError as exc:
        # Refused while the CSRF check read the body for a form's token (a package over the
        # cap): nothing was stored, and the page says why as for any refusal.
        keys = _keys(request)
        return _answer(request, UploadForm(keys=keys), keys, refusal(exc))


def _keys(request):
    return for_request(VendorKey.objects.filter(revoked_at__isnull=True), request)


@csrf_protect
def _upload(request):
    keys = _keys(request)
    problem = None
    form = UploadForm(keys=keys)
    if request.method == "POST":
        try:
            form = UploadForm(request.POST, request.FILES, keys=keys)
            if form.is_valid():
                version = _store(request, form)
                if wants_json(request):
                    return JsonResponse({"redirect": version_url(version)}, status=201)
                return redirect(version_url(version))
        except DomainError as exc:
            problem = refusal(exc)
    return _answer(request, form, keys, problem)


def _answer(request, form: UploadForm, keys, problem):
    """The form again with the refusal or the form's errors: JSON to the upload script."""
    if request.method == "POST" and wants_json(request):
        if problem is not None:
            return JsonResponse(problem.as_json(), status=problem.status)
        return JsonResponse(
            {"code": "invalid_form", "detail": "Check the form.", "fields": form.errors},
            status=400,
        )
    status = problem.status if problem else (400 if form.errors else 200)
    return render(
        request,
        "portal/upload.html",
        {"form": form, "refusal": problem, "has_keys": keys.exists()},
        status=status,
    )
