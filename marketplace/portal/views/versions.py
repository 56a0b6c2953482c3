"""An agent's versions; a version's page: manifest, digest, key, its runs with live stage
progress and every stage's report, the certificate in force with the offline verify command
(or when the last one expired); certify again, yank."""

import json

from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from certification.models import CertificationRun
from edgeplug.tenancy.scoping import for_request, get_for_request
from marketplace import services
from marketplace.certified import certified_until, current_certificate
from marketplace.models import Agent, AgentVersion
from marketplace.portal.access import nothing_here, vendor_page
from marketplace.portal.forms import CertifyForm, YankForm
from marketplace.portal.outcomes import flash_form_errors, perform, perform_and_flash, render_form
from marketplace.portal.paging import paged
from marketplace.portal.runs import run_view
from marketplace.portal.submissions import submit_and_queue
from marketplace.portal.views.uploads import version_url
from marketplace.powers import PUBLISH, TAKE_BACK


@require_safe
@vendor_page
def agent_page(request, agent_id):
    """One agent's versions, newest first, a page at a time, each with its badges and latest
    run (only that run is read of each shown version's runs)."""
    agent = get_for_request(Agent.objects.all(), request, pk=agent_id)
    latest_run = Prefetch(
        "certification_runs", queryset=CertificationRun.objects.all()[:1], to_attr="latest_runs"
    )
    versions = for_request(AgentVersion.objects.filter(agent=agent), request).newest_first()
    paging = paged(versions.prefetch_related(latest_run), request.GET.get("page"), request.path)
    return render(request, "portal/agent.html", {"agent": agent, **paging})


def _version(request, agent_id: int, version: str) -> AgentVersion:
    return get_for_request(
        AgentVersion.objects.select_related("agent", "signing_key"),
        request,
        agent_id=agent_id,
        version=version,
    )


def _runs(request, version: AgentVersion):
    runs = for_request(CertificationRun.objects.filter(version=version), request)
    return [run_view(run) for run in runs.prefetch_related("results", "attempts")]


def _runs_html(request, version, runs) -> str:
    return render_to_string(
        "portal/_runs.html", {"version": version, "runs": runs}, request=request
    )


@require_safe
@vendor_page
def version_page(request, agent_id, version):
    item = _version(request, agent_id, version)
    return render(request, "portal/version.html", _version_context(request, item))


def _version_context(request, item: AgentVersion, *, yank_form: YankForm | None = None) -> dict:
    runs = _runs(request, item)
    certificate = current_certificate(item)
    # With none current: when the last one expired (None if it never had one), or, when that
    # is still ahead, its platform key no longer vouches (revoked or withdrawn).
    until = None if certificate else certified_until(item)
    key_withdrawn = until is not None and until > timezone.now()
    context = {
        "version": item,
        "manifest": item.manifest,
        "runs": runs,
        "runs_html": _runs_html(request, item, runs),
        "active": any(r.active for r in runs),
        "certificate": certificate,
        "certificate_expired_at": None if key_withdrawn else until,
        "certificate_key_withdrawn": key_withdrawn,
        "package_file": f"{item.agent.name}-{item.version}.epk",
        "yank_form": yank_form or YankForm(),
        "certify_form": CertifyForm(),
    }
    return context


@require_safe
@vendor_page
def version_runs(request, agent_id, version):
    """What the page polls while a run is active: the runs section, rendered again."""
    item = _version(request, agent_id, version)
    runs = _runs(request, item)
    return JsonResponse(
        {"active": any(r.active for r in runs), "html": _runs_html(request, item, runs)}
    )


@require_safe
@vendor_page
def certificate_download(request, agent_id, version):
    item = _version(request, agent_id, version)
    certificate = current_certificate(item)
    if certificate is None:
        return nothing_here(request, "certificate")
    response = HttpResponse(
        json.dumps(certificate.document(), indent=2), content_type="application/json"
    )
    name = f"{item.agent.name}-{item.version}.certificate.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@vendor_page(power=TAKE_BACK)
def yank(request, agent_id, version):
    """Yanks the version; a refusal (no reason, one too long) is said by the reason on the
    version page again, the field marked and what was typed kept."""
    item = _version(request, agent_id, version)
    form = YankForm(request.POST)
    error = None
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        success = f"{item} is yanked: customers no longer see it."
        outcome = perform(request, services.yank_version, item, reason, success=success)
        if outcome.error is None:
            return redirect(version_url(item))
        error = outcome.error
    context = _version_context(request, item, yank_form=form)
    return render_form(request, "portal/version.html", context, form=form, error=error)


@require_POST
@vendor_page(power=PUBLISH)
def certify(request, agent_id, version):
    """Queues a certification run of the version at the level chosen; a refusal (an unknown
    level, a run already under way) is flashed, and back to the version page either way."""
    item = _version(request, agent_id, version)
    form = CertifyForm(request.POST)
    if form.is_valid():
        perform_and_flash(
            request,
            submit_and_queue,
            item,
            form.cleaned_data["level"],
            success=lambda run: f"Run {run.pk} is queued.",
        )
    else:
        flash_form_errors(request, form)
    return redirect(version_url(item))
