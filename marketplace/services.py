"""Registry operations: vendor keys, signed uploads, yanking and deleting agents.

Every door (API, admin, CLI through the API) calls these; each validates, writes in one
transaction, records its audit event and leaves nothing behind when it refuses.
"""

import hashlib
from dataclasses import dataclass

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from certification.errors import RunInProgress
from certification.models import CertificationRun
from edgeplug import signing
from edgeplug.audit.services import record_change, record_event
from edgeplug.core.compiled import CompiledQuery
from edgeplug.core.locking import lock_rows, locked, share_locked, stamp_once, unique_or
from edgeplug.reasons import require_reason
from edgeplug.tenancy.models import Tenant
from edgeplug.text import refuse_nul, unreadable
from marketplace import storage
from marketplace.catalogue import refresh_listing
from marketplace.catalogue_cache import invalidate_catalogue
from marketplace.errors import (
    AgentInUse,
    AlreadyYanked,
    InvalidKeyName,
    KeyExists,
    KeyNameTooLong,
    KeyRevoked,
    NotAVendor,
    PrivateKeyGiven,
    PublicKeyRequired,
    UnknownKey,
    VendorMismatch,
    VersionExists,
)
from marketplace.models import PUBLIC_VERSION, Agent, AgentVersion, CertificationStatus, VendorKey
from marketplace.packageformat import ValidatedPackage, inspect_package
from marketplace.versioning import precedence_key


def ensure_vendor(tenant: Tenant | None) -> Tenant:
    if tenant is None or not tenant.is_vendor:
        raise NotAVendor("Only vendor tenants can do this.")
    return tenant


def _refuse_a_revoked_key(tenant: Tenant, key_id: str) -> None:
    """A revoked key stays revoked: registering it again is refused (``key_exists``, as for an
    active one) saying so, and what to do instead."""
    revoked = VendorKey.objects.filter(tenant=tenant, key_id=key_id, revoked_at__isnull=False)
    when = revoked.values_list("revoked_at", flat=True).first()
    if when is not None:
        raise KeyExists(
            f"Key {key_id} was revoked on {when:%Y-%m-%d %H:%M} UTC and cannot be registered "
            "again: make a new key with `edgeplug keygen` and register that.",
            field="public_key",
        )


@transaction.atomic
def register_key(
    tenant: Tenant, public_key_b64: str, *, name: str = "", actor=None, request=None
) -> VendorKey:
    ensure_vendor(tenant)
    name = _key_name(name)
    _require_public_key(public_key_b64)
    _refuse_a_private_key(public_key_b64)
    try:
        raw = signing.decode_public_key(public_key_b64)
    except signing.MalformedKey as refused:
        refused.field = "public_key"  # the request's (signing is the package library's)
        raise
    key_id = signing.key_id(raw)
    _refuse_a_revoked_key(tenant, key_id)
    with unique_or(KeyExists(f"Key {key_id} is already registered.", field="public_key")):
        key = VendorKey.objects.create(
            tenant=tenant,
            key_id=key_id,
            public_key=signing.encode_b64(raw),
            name=name,
            created_by=actor,
        )
    record_event(
        "vendor_key_registered",
        request=request,
        actor=actor,
        tenant=tenant,
        target=key_id,
        details={"name": name},
    )
    return key


def _require_public_key(public_key_b64: str) -> None:
    if not public_key_b64.strip():
        raise PublicKeyRequired(
            "Give the public key: the base64 of its 32 raw bytes.", field="public_key"
        )


def _refuse_a_private_key(text: str) -> None:
    """The one file ``edgeplug keygen`` writes is a JSON document holding the private key
    beside the public one (marketplace/cli/keyfile.py). Given as the public key it was
    refused as "not valid base64", which did not say the vendor had sent the secret; the
    refusal says so now, and nothing of it is kept or shown back."""
    if signing.holds_private_key(text):
        raise PrivateKeyGiven(
            "That is the key file `edgeplug keygen` wrote: it holds your private key, which "
            "stays on your machine (nothing of it was kept). Give its public key instead: the "
            "“public key:” line keygen printed, or run `edgeplug register-key`.",
            field="public_key",
        )


def _key_name(name: str) -> str:
    """A key's label as stored, without the blanks around it; one that holds NUL or is longer
    than its column is refused (both were database errors), whichever door it came from, and
    so is one the team would read otherwise than it was typed or as blank where it is not
    (``unreadable``: the keys table shows "—" for a key without a name)."""
    refuse_nul(name, field="name")
    name = name.strip()
    if refusal := unreadable(name):
        raise InvalidKeyName(f"name {refusal}.", field="name")
    limit = VendorKey._meta.get_field("name").max_length
    if len(name) > limit:
        raise KeyNameTooLong(
            f"name is longer than {limit} characters ({len(name)} given).", field="name"
        )
    return name


@transaction.atomic
def revoke_key(key: VendorKey, *, actor=None, request=None) -> VendorKey:
    return stamp_once(
        key,
        "revoked_at",
        revoked_by=actor,
        then=lambda row: record_change(
            "vendor_key_revoked", row, actor=actor, request=request, target=row.key_id
        ),
    )


# The upload path's fixed queries, compiled once per process (``edgeplug.core.compiled``):
# building and compiling them cost more CPU than PostgreSQL's answers.
_key_named = CompiledQuery(
    lambda tenant, key_id: VendorKey.objects.filter(tenant=tenant, key_id=key_id).order_by(),
    tenant=VendorKey._meta.get_field("tenant"),
    key_id=VendorKey._meta.get_field("key_id"),
)
# The agent an upload adds its version to, read and locked in one (``_agent_for``).
_agent_named = CompiledQuery(
    lambda tenant, name: lock_rows(Agent.objects.filter(tenant=tenant, name=name).order_by()),
    tenant=Agent._meta.get_field("tenant"),
    name=Agent._meta.get_field("name"),
)
# These very bytes, or this name and version with others: the same version is the same SemVer
# precedence, build metadata ignored (1.0.0+build.7 is 1.0.0). The agent is found by its
# unique (tenant, name) first, so PostgreSQL looks the version up in the unique (agent,
# precedence) index rather than walking all of it. Keys only: a new upload (the usual case)
# finds nothing, at most two rows, in either order.
_same_package = CompiledQuery(
    lambda tenant, digest, name, precedence: (
        AgentVersion.objects.filter(
            Q(digest=digest)
            | Q(
                agent_id=Subquery(
                    Agent.objects.filter(tenant=tenant, name=name).order_by().values("pk")
                ),
                precedence=precedence,
            ),
            tenant=tenant,
        )
        .order_by()
        .values_list("pk", "digest", "version")[:2]
    ),
    tenant=AgentVersion._meta.get_field("tenant"),
    digest=AgentVersion._meta.get_field("digest"),
    name=Agent._meta.get_field("name"),
    precedence=AgentVersion._meta.get_field("precedence"),
)
# An agent's card follows its newest public version, else its newest upload; each read is the
# first entry of a backward scan of an index in ``newest_first`` order (the public versions'
# partial one for the first), however many versions the agent has.
_newest_public_manifest = CompiledQuery(
    lambda agent: (
        AgentVersion.objects.filter(PUBLIC_VERSION, agent=agent).newest_first().only("manifest")[:1]
    ),
    agent=AgentVersion._meta.get_field("agent"),
)
_newest_manifest = CompiledQuery(
    lambda agent: AgentVersion.objects.filter(agent=agent).newest_first().only("manifest")[:1],
    agent=AgentVersion._meta.get_field("agent"),
)


def _signing_key_for(tenant: Tenant, key_id: str) -> VendorKey:
    # Another vendor's key is "unknown" here, so uploads never confirm what others hold.
    key = _key_named.first(tenant=tenant.pk, key_id=key_id)  # one at most: unique
    if key is None:
        raise UnknownKey(f"No signing key {key_id!r} is registered for {tenant.slug}.")
    _refuse_if_revoked(key)
    return key


def _refuse_if_revoked(key: VendorKey) -> None:
    if not key.is_active:
        raise KeyRevoked(f"Key {key.key_id} was revoked on {key.revoked_at:%Y-%m-%d}.")


def hold_signing_key(key: VendorKey) -> None:
    """In the transaction that writes what ``key`` signed (a version, a workflow package):
    the key's row held (``share_locked``) and refused again (``key_revoked``) if it was
    revoked since the signature was verified, while the package was validated and stored
    (seconds, longer to S3). A revocation answered before this is refused here; one sent
    after waits for the write to commit (``revoke_key`` locks the row), so the vendor told
    "revoked" finds every upload the key let in already listed. Taken first, before the
    agent (``lock_agent``): ``revoke_key`` takes nothing else."""
    _refuse_if_revoked(share_locked(key, "key_id", "revoked_at"))


def verify_upload_signature(
    tenant: Tenant, digest: bytes, signature_b64: str, key_id: str
) -> VendorKey:
    """The detached Ed25519 signature over ``digest`` (the package's raw SHA-256,
    ``signing.package_digest``), by an active key of this vendor."""
    signature = signing.decode_signature(signature_b64)
    key = _signing_key_for(tenant, key_id)
    signing.verify(signing.decode_public_key(key.public_key), digest, signature)
    return key


def verify_document_signature(
    tenant: Tenant, document, signature_b64: str, key_id: str
) -> VendorKey:
    """An Ed25519 signature over the RFC 8785 canonical JSON of ``document``."""
    signature = signing.decode_signature(signature_b64)
    key = _signing_key_for(tenant, key_id)
    signing.verify_document(signing.decode_public_key(key.public_key), document, signature)
    return key


@dataclass(frozen=True)
class UploadResult:
    version: AgentVersion
    created: bool


def upload_package(
    tenant: Tenant,
    data: bytes,
    signature_b64: str,
    key_id: str,
    *,
    blob: File | None = None,
    actor=None,
    request=None,
) -> UploadResult:
    """Verify, validate and store a signed package; the same bytes again return the same row.

    ``data`` is any bytes-like view of the archive (the upload view maps its temporary file);
    ``blob``, when given, is the same bytes as a file, stored without another copy.
    """
    ensure_vendor(tenant)
    # Hashed once (1 MiB is a millisecond): the signature covers the digest, and the
    # validated package is known by it.
    digest = signing.package_digest(data)
    key = verify_upload_signature(tenant, digest, signature_b64, key_id)
    package = inspect_package(data, storage.package_limits(), sha256=digest.hex())
    if package.manifest["vendor"] != tenant.slug:
        raise VendorMismatch(
            f"The manifest names vendor {package.manifest['vendor']!r}, but you upload as "
            f"{tenant.slug!r}."
        )
    existing = _existing_version(tenant, package)
    if existing is not None:
        return UploadResult(existing, created=False)

    name, blob_created = storage.store_package(package.sha256, blob or data)
    try:
        with transaction.atomic():
            hold_signing_key(key)
            version = _create_version(tenant, package, name, signature_b64, key, actor)
            record_event(
                "package_uploaded",
                request=request,
                actor=actor,
                tenant=tenant,
                target=str(version),
                details={"digest": package.sha256},
            )
    except BaseException as exc:
        if blob_created and not AgentVersion.objects.filter(storage_name=name).exists():
            storage.delete_package(name)
        if not isinstance(exc, IntegrityError):
            raise
        # The same name and version (or precedence) committed meanwhile (a retry racing its
        # original): the answer this upload would have had after it, that version (the same
        # bytes) or version_exists (other bytes).
        existing = _existing_version(tenant, package)
        if existing is None:
            raise
        return UploadResult(existing, created=False)
    return UploadResult(version, created=True)


def _existing_version(tenant: Tenant, package: ValidatedPackage) -> AgentVersion | None:
    """The vendor's version of these very bytes; ``VersionExists`` when the agent holds this
    version with other bytes, or one that differs from it only in build metadata (SemVer
    precedence ignores it, and so does the registry's order: it would be a second 1.0.0);
    None when there is neither."""
    same = _same_package.fetch(
        tenant=tenant.pk,
        digest=package.sha256,
        name=package.name,
        precedence=precedence_key(package.version),
    )
    found = {digest == package.sha256: (pk, digest, version) for pk, digest, version in same}
    if True in found:
        return AgentVersion.objects.select_related("agent__tenant").get(pk=found[True][0])
    if False in found:
        _, digest, version = found[False]
        raise VersionExists(
            f"{package.name} {package.version} exists with other bytes (sha256 {digest[:12]}…); "
            "published versions are immutable: bump the version."
            if version == package.version
            else f"{package.name} {package.version} exists as {version} (sha256 {digest[:12]}…): "
            "versions that differ only in build metadata (after “+”) are the same version, and "
            "published versions are immutable: bump the version."
        )
    return None


def _create_version(
    tenant, package: ValidatedPackage, storage_name: str, signature_b64: str, key: VendorKey, actor
) -> AgentVersion:
    manifest = package.manifest
    agent, agent_created = _agent_for(tenant, manifest)
    agent.tenant = tenant  # the caller's, already loaded: no join to read it again
    # A concurrent upload of the same version (or precedence) fails a unique constraint here;
    # the caller's transaction rolls back and upload_package answers VersionExists (no
    # savepoint needed).
    version = AgentVersion.objects.create(
        agent=agent,
        tenant=tenant,
        version=manifest["version"],
        digest=package.sha256,
        size=package.size,
        manifest=manifest,
        manifest_digest=hashlib.sha256(package.manifest_bytes).hexdigest(),
        target_core=manifest["target"]["core"],
        storage_name=storage_name,
        signature=signature_b64,
        signing_key=key,
        uploaded_by=actor,
    )
    # A new version is neither certified nor reviewed: what customers see (the listing, the
    # cached catalogue) cannot change, so only the card is brought up to date (an agent just
    # created from this manifest already shows it).
    if not agent_created:
        _follow_card(agent)
    return version


def _agent_for(tenant: Tenant, manifest: dict) -> tuple[Agent, bool]:
    """``Agent.objects.get_or_create`` by the manifest's name, its read compiled once; the
    agent found is locked as ``lock_agent`` locks it. An upload to an agent being deleted
    waits for the delete and then finds no agent of that name: it creates one, as an upload
    right after the delete would (its version was added to the agent deleted, and the upload
    failed on the agent's foreign key when the delete committed)."""
    agent = _agent_named.first(tenant=tenant.pk, name=manifest["name"])
    if agent is not None:
        return agent, False
    try:
        with transaction.atomic():
            agent = Agent.objects.create(
                tenant=tenant,
                name=manifest["name"],
                agent_type=manifest["agent_type"],
                description=manifest["description"],
            )
        return agent, True
    except IntegrityError:  # created concurrently: that one, as get_or_create does
        agent = _agent_named.first(tenant=tenant.pk, name=manifest["name"])
        if agent is not None:
            return agent, False
        raise


def refresh_agent_card(agent: Agent) -> None:
    """The agent's type and description come from its newest public version, so an
    unreviewed upload never changes what customers read; before any version is public
    (nobody else sees the agent yet) they follow the vendor's newest upload. Its catalogue
    listing follows too."""
    _follow_card(agent)
    refresh_listing(agent)


def _follow_card(agent: Agent) -> None:
    # Each read is one index entry (see the queries above), so uploads stay flat however many
    # versions the agent has (sorting on "is public" instead reads and sorts all of them).
    # Only while no version is public does the second read (the vendor's newest upload) run.
    newest = _newest_public_manifest.first(agent=agent.pk) or _newest_manifest.first(agent=agent.pk)
    if newest is not None:
        manifest = newest.manifest
        card = (manifest["agent_type"], manifest["description"])
        if (agent.agent_type, agent.description) != card:
            agent.agent_type, agent.description = card
            agent.save(update_fields=["agent_type", "description", "updated_at"])


@transaction.atomic
def yank_version(version: AgentVersion, reason: str, *, actor=None, request=None) -> AgentVersion:
    reason = require_reason(
        reason,
        max_length=AgentVersion._meta.get_field("yank_reason").max_length,
        missing_detail="Say why you are yanking this version: customers who bought it read "
        "the reason.",
    )
    version = lock_version(version)
    if version.yanked_at is not None:
        raise AlreadyYanked(f"{version} was yanked on {version.yanked_at:%Y-%m-%d}.")
    version.yanked_at = timezone.now()
    version.yank_reason = reason
    version.save(update_fields=["yanked_at", "yank_reason"])
    refresh_agent_card(version.agent)
    invalidate_catalogue()
    record_change(
        "version_yanked", version, actor=actor, request=request, details={"reason": reason}
    )
    return version


def lock_agent(agent_id: int) -> Agent:
    """The agent's row, locked (``locked``), as ``delete_agent`` locks it first. Every action
    that adds to an agent (a version uploaded, a certification submitted) or changes one of
    its versions takes it before the version's, so it waits for a delete in progress and then
    finds the agent gone (404, or a new agent for an upload) rather than failing on a foreign
    key when the delete commits; and, all taking the agent then the version then its runs
    (a run's end too: ``certification.pipeline.state.lock_run``), none waits for another
    holding the one it wants next."""
    return locked(Agent(pk=agent_id))


def lock_version(version: AgentVersion) -> AgentVersion:
    """The version's row, locked (``locked``), after its agent's (``lock_agent``)."""
    lock_agent(version.agent_id)
    return locked(version)


def delete_agent(agent: Agent, *, actor=None, request=None) -> None:
    """Only an agent none of whose versions was ever certified (or bought) can be deleted."""
    with transaction.atomic():
        agent = lock_agent(agent.pk)
        versions = list(agent.versions.all())
        if any(
            v.certified_at or v.certification_status == CertificationStatus.CERTIFIED
            for v in versions
        ):
            raise AgentInUse(
                f"{agent.name} has certified versions and cannot be deleted: yank them instead."
            )
        active = CertificationRun.objects.filter(version__agent=agent).active().first()
        if active is not None:
            # Deleting it would delete the run under the worker running it.
            raise RunInProgress(
                f"Run {active.pk} of {active.version} is {active.status}: delete the agent once "
                "its run has ended."
            )
        names = {v.storage_name for v in versions}
        record_change(
            "agent_deleted",
            agent,
            actor=actor,
            request=request,
            details={"versions": [v.version for v in versions]},
        )
        agent.delete()
        invalidate_catalogue()
    for name in names:
        if not AgentVersion.objects.filter(storage_name=name).exists():
            storage.delete_package(name)
