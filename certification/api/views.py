"""The certification API: submit, follow a run, the queue, certificates, the key set."""

from datetime import timedelta

import django_filters
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from certification.api.serializers import (
    CertificateDocumentSerializer,
    QueuedRunSerializer,
    RunSerializer,
    RunSummarySerializer,
    SubmitSerializer,
)
from certification.certificates.platform_keys import PlatformKeyError, keyring
from certification.errors import NotCertified, NotQueued, NoVersion
from certification.models import QUEUE_REVIEW_STATUSES, QUEUE_STATUSES, CertificationRun
from certification.pipeline.actions import broker_refusal, check_level, submit_for_certification
from edgeplug.core import error_views
from edgeplug.core.filters import FilterSet, number_filter, slug_filter
from edgeplug.core.locking import one_snapshot
from edgeplug.core.schema import error_response
from edgeplug.core.serializers import validated
from edgeplug.slugs import slug_as_typed
from edgeplug.tenancy.models import StaffGroup, Tenant
from edgeplug.tenancy.scoping import for_request, get_for_request, get_referenced
from marketplace.api.permissions import IsVendorPublisher
from marketplace.api.serializers import CertifyRequestSerializer
from marketplace.certified import current_certificate
from marketplace.errors import UnknownVendor, UnknownVersion, VersionsDiffer
from marketplace.models import Agent, AgentVersion
from marketplace.visibility import referenced_version, shown_versions


def runs_for(request):
    """Reviewers see every run; vendors their own."""
    runs = CertificationRun.objects.select_related("version__agent", "tenant", "certificate")
    return for_request(runs, request, staff=StaffGroup.REVIEWERS)


def _submitted(run) -> Response:
    refusal = broker_refusal(run)
    if refusal:
        raise NotQueued(refusal["detail"], run_id=run.pk)
    return Response(QueuedRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def _queues_a_run(request, unknown: str):
    """The schema of the two doors that queue a run (``_submitted`` answers both)."""
    return extend_schema(
        request=request,
        responses={
            202: QueuedRunSerializer,
            400: error_response(400, unknown),
            503: error_response(
                503,
                "broker_unavailable (with the run's run_id and Retry-After): the broker refused "
                "the run, which ended at once. Submit again later.",
            ),
        },
    )


class Submit(APIView):
    permission_classes = [IsVendorPublisher]

    @_queues_a_run(
        SubmitSerializer,
        "unknown_version (version_id, or version of agent_id) or unknown_agent (agent_id): the "
        "body names none of your tenant's versions or agents; versions_differ: it gives both "
        "version_id and agent_id with version, and they name two versions.",
    )
    def post(self, request):
        v = validated(SubmitSerializer, request)
        check_level(v["level"])  # before the version is looked for, as the upload does
        own = for_request(AgentVersion.objects.all(), request)
        named = []
        if (pk := v.get("version_id")) is not None:
            named.append(get_referenced(own, UnknownVersion, "version_id", pk, pk=pk))
        if "agent_id" in v and "version" in v:
            named.append(
                referenced_version(
                    own,
                    for_request(Agent.objects.all(), request),
                    v["agent_id"],
                    v["version"],
                    fields=("agent_id", "version"),
                )
            )
        version = named[0]
        if any(other != version for other in named):
            # Both groups given (the schema's anyOf allows it): the run was queued for
            # version_id's, the other pair never read.
            raise VersionsDiffer(
                f"version_id {version.pk} is {version}, not version {v['version']!r} of agent "
                f"{v['agent_id']}: give one of them.",
                field="version_id",
            )
        return _submitted(
            submit_for_certification(version, v["level"], actor=request.user, request=request)
        )


class AgentCertify(APIView):
    """PUT /agents/{id}/certify: certify the latest (or a given) version at a level."""

    permission_classes = [IsVendorPublisher]

    @_queues_a_run(CertifyRequestSerializer, "unknown_version: the agent has no such version.")
    def put(self, request, pk):
        # Another tenant's agent is a 404 whatever the body says, as yank and the plan edits.
        agent = get_for_request(Agent.objects.all(), request, pk=pk)
        data = validated(CertifyRequestSerializer, request)
        check_level(data["level"])
        if "version" in data:
            # A named version is decided by the action (409 version_yanked when yanked), as
            # /certification/submit does.
            version = get_referenced(
                agent.versions.all(),
                UnknownVersion,
                "version",
                data["version"],
                version=data["version"],
            )
        else:
            version = agent.versions.filter(yanked_at__isnull=True).newest_first().first()
            if version is None:
                raise NoVersion("This agent has no version to certify.")
        return _submitted(
            submit_for_certification(version, data["level"], actor=request.user, request=request)
        )


class RunDetail(generics.RetrieveAPIView):
    serializer_class = RunSerializer

    def get_queryset(self):
        # One run: its attempts are read only while it runs (``stage_states``).
        return runs_for(self.request).prefetch_related("results")

    def retrieve(self, request, *args, **kwargs):
        # The run, its results and its attempts from one moment: a stage passed with the
        # progress it makes, a stage running with ``current_stage`` naming it.
        with one_snapshot():
            return super().retrieve(request, *args, **kwargs)


MAX_AGE_HOURS = 24 * 366 * 10


def _choices_of(values) -> list[tuple[str, str]]:
    return [(value.value, value.label) for value in values]


class QueueFilter(FilterSet):
    # Only what a run in the queue can be: another is 400 invalid_choice, not an empty page.
    status = django_filters.ChoiceFilter(choices=_choices_of(QUEUE_STATUSES))
    review_status = django_filters.ChoiceFilter(choices=_choices_of(QUEUE_REVIEW_STATUSES))
    vendor = slug_filter(
        method="filter_vendor",
        label="your tenant's slug, any tenant's for reviewers (else 400 unknown_vendor)",
    )
    older_than_hours = number_filter(maximum=MAX_AGE_HOURS, method="filter_age")

    class Meta:
        model = CertificationRun
        fields = ["level", "status", "review_status", "vendor"]

    def filter_vendor(self, queryset, name, value):
        # A tenant whose runs the caller may see (any, for reviewers; else its own); 400
        # unknown_vendor otherwise.
        tenants = for_request(
            Tenant.objects.all(), self.request, field="pk", staff=StaffGroup.REVIEWERS
        )
        return self.narrowed_to(
            queryset,
            name,
            slug_as_typed(value),
            visible=tenants,
            error=UnknownVendor,
            lookup="slug",
            field="tenant__slug",
        )

    def filter_age(self, queryset, name, value):
        return queryset.older_than(timedelta(hours=float(value)))


class Queue(generics.ListAPIView):
    """Runs a reviewer can decide now (passed, undecided, of a version that is not yanked and
    still certified, and not superseded by a newer queued, running or passed run of it) or
    still queued or running."""

    serializer_class = RunSummarySerializer
    filterset_class = QueueFilter
    ordering_fields = ["created_at", "finished_at"]

    def get_queryset(self):
        return runs_for(self.request).in_queue().order_by("created_at", "id")


class RunCertificate(APIView):
    """The certificate this run issued: the run's record, kept after it expires (a verifier
    then refuses it as expired). Which certificate vouches for the version now is the
    version's certificate endpoint. 404 ``not_certified`` when the run issued none."""

    @extend_schema(responses={200: CertificateDocumentSerializer})
    def get(self, request, pk):
        run = generics.get_object_or_404(runs_for(request), pk=pk)
        if not hasattr(run, "certificate"):
            raise NotCertified(f"Run {run.pk} issued no certificate.")
        return Response(run.certificate.document())


class VersionCertificate(APIView):
    """The signed certificate that vouches for the version now (``marketplace.certified``),
    for any version the agent's page shows, one yanked since its release included. 404
    ``not_certified`` when none does (never certified, every one expired or of a revoked key).
    Anyone may read it, signed in or not, as the agent's page."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: CertificateDocumentSerializer})
    def get(self, request, agent_id, version):
        item = generics.get_object_or_404(
            shown_versions(request), agent_id=agent_id, version=version
        )
        certificate = current_certificate(item)
        if certificate is None:
            raise NotCertified("This version has no valid certificate.")
        return Response(certificate.document())


@require_GET
def published_keys(request):
    """The public key set; 503 platform_key_unavailable while the ring is unusable, never
    kept by a cache for the next five minutes as the key set is."""
    try:
        published = keyring().published()
    except PlatformKeyError as error:
        refused = error_views.error_response(error)
        add_never_cache_headers(refused)
        return refused
    response = JsonResponse(published)
    patch_cache_control(response, public=True, max_age=300)
    return response
