"""Devices and deployments: register a device (its token shown once), rotate or revoke the
token, deploy an entitled agent version within the tenant's seats, and tell a device what to
run and what to stop."""

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from certification.models import CertificationRun
from edgeplug.audit.services import record_change
from edgeplug.certificates import sha256_label
from edgeplug.core.locking import locked, stamp_once, unique_or
from edgeplug.tenancy.models import Tenant
from edgeplug.text import invisible, unreadable
from marketplace.certified import current_certificate, current_certificates
from marketplace.errors import (
    DeviceExists,
    DeviceRevoked,
    IncompatibleCore,
    InvalidCore,
    InvalidDeviceText,
    NoCertificate,
    NotAvailable,
    SeatLimitReached,
)
from marketplace.models import (
    AgentVersion,
    Deployment,
    Device,
    Entitlement,
    ReviewStatus,
)
from marketplace.orders import active_entitlements, no_entitlement
from marketplace.packageformat.schema import target_cores

TOKEN_PREFIX = "edp"  # noqa: S105 - the public label of device tokens, not a secret


# --- tokens ------------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    """(prefix, token): the prefix is public and unique; the rest is 256 bits of secret."""
    prefix = secrets.token_hex(6)
    return prefix, f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


# What both doors (REST's 401 authentication_failed, gRPC's UNAUTHENTICATED) say of a token
# that names no active device.
UNKNOWN_DEVICE_MESSAGE = "This device token is not valid or was revoked."


def device_for_token(token: str) -> Device | None:
    """The active device this token belongs to, or None (constant-time hash comparison). A
    token holding NUL is none (no column stores the character: PostgreSQL would refuse the
    lookup, a 500 behind a server that lets such a header through)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or "\x00" in token:
        return None
    device = Device.objects.select_related("tenant").filter(token_prefix=parts[1]).first()
    if device is None or not hmac.compare_digest(device.token_hash, _hash(token)):
        return None
    if not device.is_active or not device.tenant.is_active:
        return None
    return device


@dataclass(frozen=True)
class IssuedToken:
    device: Device
    token: str


def register_device(
    tenant: Tenant, *, name: str, hardware_id: str, core: str, actor=None, request=None
) -> IssuedToken:
    for label, text in (("name", name), ("hardware_id", hardware_id)):
        if refusal := unreadable(text):
            raise InvalidDeviceText(label, refusal)
    # One piece of hardware, one id: written alike however its characters were composed
    # ("é" or "e" and its accent), and nothing invisible that would make it another.
    if refusal := invisible(hardware_id):
        raise InvalidDeviceText("hardware_id", refusal)
    hardware_id = unicodedata.normalize("NFC", hardware_id)
    limit = Device._meta.get_field("hardware_id").max_length
    if len(hardware_id) > limit:  # some characters compose into two (U+0958): a 500 was
        raise InvalidDeviceText(
            "hardware_id", f"is {len(hardware_id)} characters composed (NFC); at most {limit}"
        )
    if core not in target_cores():
        raise InvalidCore(
            f"core: {core!r} is not a core a package may target; one of "
            f"{', '.join(target_cores())}."
        )
    prefix, token = _new_token()
    taken = DeviceExists(
        f"A device with hardware id {hardware_id!r} is registered: revoke it to register "
        "that hardware again."
    )
    with unique_or(taken):
        device = Device.objects.create(
            tenant=tenant,
            name=name,
            hardware_id=hardware_id,
            core=core,
            token_prefix=prefix,
            token_hash=_hash(token),
            token_created_at=timezone.now(),
            created_by=actor,
        )
        _audit("device_registered", device, actor, request)
    return IssuedToken(device, token)


@transaction.atomic
def rotate_token(device: Device, *, actor=None, request=None) -> IssuedToken:
    device = locked(device)
    _reject_revoked(device)
    prefix, token = _new_token()
    device.token_prefix, device.token_hash = prefix, _hash(token)
    device.token_created_at = timezone.now()
    device.save(update_fields=["token_prefix", "token_hash", "token_created_at"])
    _audit("device_token_rotated", device, actor, request)
    return IssuedToken(device, token)


@transaction.atomic
def revoke_device(device: Device, *, actor=None, request=None) -> Device:
    """End the device's token for good. Its deployments end with it (each audited as a removal)
    so it holds no seat, and its hardware id may be registered again."""

    def revoked(row: Device) -> None:
        _audit("device_revoked", row, actor, request)
        for deployment in row.deployments.select_related("version__agent__tenant"):
            _end_deployment(deployment, row, actor, request, reason="device_revoked")

    return stamp_once(device, "revoked_at", then=revoked)


def _reject_revoked(device: Device) -> None:
    if not device.is_active:
        raise DeviceRevoked(f"Device {device.name} was revoked.")


# --- deployments -------------------------------------------------------------------------------


def _reject_unavailable(version: AgentVersion) -> None:
    if not version.is_public:
        raise NotAvailable(f"{version} is not a certified, approved, unyanked version.")


def _reject_incompatible_core(device: Device, version: AgentVersion) -> None:
    certificate = current_certificate(version)
    if certificate is None:
        raise NoCertificate(f"{version} has no valid certificate.")
    certified_core = certificate.payload["package"]["target_core"]
    if certified_core != device.core:
        raise IncompatibleCore(
            f"{version} is certified for {certified_core}; device {device.name} is {device.core}."
        )


def _locked_seats(tenant: Tenant, version: AgentVersion) -> int:
    """Lock the tenant's active entitlements to this agent and count their seats; concurrent
    deployments of the agent wait here, so the seat count is never exceeded."""
    entitlements = list(
        active_entitlements(tenant, version.agent_id).select_for_update().order_by("pk")
    )
    if not entitlements:
        raise no_entitlement(version.agent, tenant)
    return sum(e.seats for e in entitlements)


@transaction.atomic
def deploy(
    device: Device, version: AgentVersion, *, actor=None, request=None
) -> tuple[Deployment, bool]:
    """Assign ``version`` to ``device``: the deployment, and whether it is new (it took a
    seat). Redeploying the agent there changes its version (audited when it differs) and
    keeps its seat."""
    device = locked(device)
    _reject_revoked(device)
    _reject_unavailable(version)
    seats = _locked_seats(device.tenant, version)
    _reject_incompatible_core(device, version)
    existing = Deployment.objects.filter(device=device, agent=version.agent).first()
    if existing is not None:
        if existing.version_id != version.pk:
            existing.version = version
            existing.save(update_fields=["version", "updated_at"])
            _audit("deployment_updated", device, actor, request, version=str(version))
        return existing, False
    used = Deployment.objects.filter(tenant=device.tenant, agent=version.agent).count()
    if used >= seats:
        name = version.agent.name
        taken = f"The only seat of {name} is" if seats == 1 else f"All {seats} seats of {name} are"
        raise SeatLimitReached(f"{taken} deployed: remove a deployment or buy more seats.")
    deployment = Deployment.objects.create(
        tenant=device.tenant,
        device=device,
        agent=version.agent,
        version=version,
        created_by=actor,
    )
    _audit("deployment_created", device, actor, request, version=str(version))
    return deployment, True


@transaction.atomic
def remove_deployment(deployment: Deployment, *, actor=None, request=None) -> None:
    """End the deployment, freeing its seat. The device is locked first, as ``deploy`` and
    ``revoke_device`` lock it, and the deployment read again under that lock: of two removals
    at once, or a removal and the device's revocation, the second finds it gone (``NotFound``)
    and records nothing, and a redeploy waiting meanwhile finds the seat free (before, it
    updated the removed row: a 500)."""
    device = locked(Device(pk=deployment.device_id))
    _end_deployment(locked(deployment, "version"), device, actor, request)


def _end_deployment(deployment: Deployment, device: Device, actor, request, **details) -> None:
    """Delete the deployment, freeing its seat, with its audit event."""
    _audit("deployment_removed", device, actor, request, version=str(deployment.version), **details)
    deployment.delete()


# --- what a device runs ------------------------------------------------------------------------


@dataclass
class Assignments:
    run: list[dict] = field(default_factory=list)
    stop: list[dict] = field(default_factory=list)


def _deployments_judged(device: Device, **only):
    """Each of the device's deployments (``only`` those matching these lookups) with its
    version's certificate now and why it must stop ("" when it runs): the one rule of
    ``assignments_for`` and ``runnable_version``. A fixed number of queries however many
    deployments the device holds."""
    now = timezone.now()
    deployments = Deployment.objects.filter(device=device, **only)
    seated = set(deployments.holding_seats(now).values_list("pk", flat=True))
    entitled = set(
        Entitlement.objects.filter(tenant=device.tenant)
        .in_force(now)
        .values_list("agent_id", flat=True)
    )
    rows = list(
        deployments.select_related("agent", "agent__tenant", "version").annotate(
            last_decided_review=_last_decided_review()
        )
    )
    certificates = current_certificates([deployment.version_id for deployment in rows])
    for deployment in rows:
        certificate = certificates.get(deployment.version_id)
        reason = _stop_reason(deployment, certificate, entitled, seated)
        yield deployment, certificate, reason


def assignments_for(device: Device) -> Assignments:
    """Versions to run with their certificate ids and digests, and what must stop: yanked
    versions, versions a reviewer rejected, certificates no longer valid, entitlements
    suspended, revoked or expired (with ``entitlement_status`` saying which), deployments
    beyond the seats in force."""
    result = Assignments()
    statuses: dict[int, str] | None = None  # read once, if an entitlement lapsed
    for deployment, certificate, reason in _deployments_judged(device):
        version = deployment.version
        entry = {
            "deployment": deployment.pk,
            "agent": deployment.agent.name,
            "agent_id": deployment.agent_id,
            "vendor": deployment.agent.tenant.slug,
            "version": version.version,
            "digest": sha256_label(version.digest),
        }
        if reason == "entitlement_inactive":
            statuses = _entitlement_statuses(device) if statuses is None else statuses
            status = statuses.get(deployment.agent_id, "none")
            result.stop.append({**entry, "reason": reason, "entitlement_status": status})
            continue
        if reason:
            result.stop.append({**entry, "reason": reason})
            continue
        result.run.append(
            {
                **entry,
                "certificate_id": certificate.pk,
                "certificate_key_id": certificate.key_id,
                "certificate_expires_at": certificate.expires_at,
                "download_url": (
                    f"/api/v1/agents/{deployment.agent_id}/versions/{version.version}/bundle"
                ),
            }
        )
    return result


def runnable_version(device: Device, agent_id: int, version: str) -> AgentVersion | None:
    """The version whose bundle a device may fetch with its token: one its assignments tell
    it to run (deployed, not yanked, not rejected in review, certified, holding a seat in
    force), else None."""
    judged = _deployments_judged(device, agent_id=agent_id, version__version=version)
    return next((deployment.version for deployment, _, reason in judged if not reason), None)


def _stop_reason(deployment: Deployment, certificate, entitled: set[int], seated: set[int]) -> str:
    """Why the deployment must stop, or "". ``seated`` (``Deployment.holding_seats``) decides
    whether it may run at all; ``entitled`` (agents with an entitlement in force) only tells
    a lapsed entitlement from seats all taken by older deployments."""
    if deployment.version.yanked_at is not None:
        return "version_yanked"
    if _rejected_in_review(deployment):
        return "review_rejected"
    if certificate is None:
        return "certificate_invalid"
    if deployment.pk in seated:
        return ""
    if deployment.agent_id not in entitled:
        return "entitlement_inactive"
    return "seat_limit_exceeded"


def _rejected_in_review(deployment: Deployment) -> bool:
    """The reviewers' decision in force on the deployed version is a rejection: its review
    status, or, while a new run of it awaits review (pending again), the decision on its last
    decided run (``_last_decided_review``).

    So a re-certification of an approved version keeps its devices running until it is decided
    (a rejection stops them), and a rejected version certified again keeps them stopped until
    a reviewer approves the new run. A version that is not public cannot be deployed at all
    (``_reject_unavailable``)."""
    status = deployment.version.review_status
    if status != ReviewStatus.PENDING:
        return status == ReviewStatus.REJECTED
    return deployment.last_decided_review == ReviewStatus.REJECTED


def _last_decided_review() -> Subquery:
    """The review status of the deployed version's last decided (not pending) run."""
    return Subquery(
        CertificationRun.objects.filter(version=OuterRef("version"))
        .exclude(review_status=ReviewStatus.PENDING)
        .order_by("-pk")
        .values("review_status")[:1]
    )


def _entitlement_statuses(device: Device) -> dict[int, str]:
    """Agent id -> the status of the tenant's newest entitlement to it (suspended when an
    invoice went unpaid, revoked, expired), so a device can tell the operator why it stops.
    One whose validity ended is ``expired`` already, before the job ``expire_entitlements``
    (every 15 minutes) stores it so: it is why the device stops."""
    statuses: dict[int, str] = {}
    rows = (
        Entitlement.objects.filter(tenant=device.tenant)
        .with_status_at(timezone.now())
        .order_by("-created_at", "-id")
    )
    for agent_id, status in rows.values_list("agent_id", "status_at"):
        statuses.setdefault(agent_id, status)
    return statuses


def touch(device: Device) -> None:
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())


def _audit(action: str, device: Device, actor, request, **details) -> None:
    record_change(
        action,
        device,
        actor=actor,
        request=request,
        target=f"device {device.pk} {device.name}",
        details={"token_prefix": device.token_prefix, **details},
    )
