"""Workflow packages (WPK): signed JSON documents composing agents into a workflow.

The signature is Ed25519 over the RFC 8785 canonical JSON of ``{name, version, content}``.
Each step names an agent as ``vendor/name`` and a version range such as ``>=1.0.0,<2.0.0``.
"""

import codecs
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import semver
from django.conf import settings
from django.core.validators import slug_re
from django.db import IntegrityError, transaction
from django.utils import timezone

from edgeplug import signing
from edgeplug.audit.services import record_change, record_event
from edgeplug.core.columns import max_length
from edgeplug.core.locking import locked
from edgeplug.errors import BadRequest, Conflict, DomainError, Unprocessable
from edgeplug.reasons import require_reason
from edgeplug.tenancy.models import Tenant
from edgeplug.tenancy.services import check_reviewer
from marketplace.errors import VersionExists
from marketplace.models import AgentVersion, ReviewStatus, WorkflowPackage
from marketplace.services import ensure_vendor, hold_signing_key, verify_document_signature


class WpkInvalid(Unprocessable, code="wpk_invalid"): ...


class WpkTooLarge(DomainError, code="wpk_too_large", status=413): ...


# A file of a document may be pretty-printed: up to this many times WPK_MAX_BYTES of it is
# read before the document is parsed, whose signed form upload_wpk caps.
_FILE_SIZE_FACTOR = 4


def read_document_file(upload) -> bytes:
    """The bytes of a file holding a document, read no further than ``_FILE_SIZE_FACTOR`` times
    the cap, or ``WpkTooLarge`` for a file larger than that. A byte order mark (Windows
    Notepad's "UTF-8" writes one) is not part of the document: the signature covers its
    canonical JSON."""
    limit = settings.WPK_MAX_BYTES * _FILE_SIZE_FACTOR
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise WpkTooLarge(
            f"Workflow package files are limited to {limit} bytes (the signed document to "
            f"{settings.WPK_MAX_BYTES}); this file is larger."
        )
    return raw.removeprefix(codecs.BOM_UTF8)


class UnknownStepAgent(Unprocessable, code="unknown_step_agent"):
    """A step of the signed document names no agent the vendor may see: a content error of
    the document (422), not a field of the request (``edgeplug.errors.UnknownReference``)."""


class NoMatchingVersion(Unprocessable, code="no_matching_version"):
    """A step's version range matches no version the vendor may see (a content error, 422)."""


class AgentsNotCertified(Conflict, code="agents_not_certified"): ...


class AlreadyReviewed(Conflict, code="already_reviewed"): ...


_OPERATORS = ("==", ">=", "<=", ">", "<", "!=")


def parse_range(text: str) -> list[str]:
    """``>=1.0.0,<2.0.0`` → comparisons semver can match; a bare version means ``==``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > 4:
        raise WpkInvalid(f"Version range {text!r} is empty or too long.")
    comparisons = []
    for part in parts:
        op = next((o for o in _OPERATORS if part.startswith(o)), "==")
        bound = part[len(op) :] if part.startswith(op) else part
        if not semver.Version.is_valid(bound):
            raise WpkInvalid(f"{bound!r} in range {text!r} is not a SemVer version.")
        comparisons.append(f"{op}{bound}")
    return comparisons


def version_in_range(version: str, comparisons: list[str]) -> bool:
    parsed = semver.Version.parse(version)
    return all(parsed.match(c) for c in comparisons)


@dataclass(frozen=True)
class Step:
    vendor: str
    agent: str
    comparisons: list[str]
    raw_range: str


def _parse_steps(content) -> list[Step]:
    if not isinstance(content, dict) or not isinstance(content.get("steps"), list):
        raise WpkInvalid("content must be an object with a list of steps.")
    steps = content["steps"]
    if not 1 <= len(steps) <= 64:
        raise WpkInvalid("A workflow has between 1 and 64 steps.")
    parsed = []
    for index, step in enumerate(steps):
        if (
            not isinstance(step, dict)
            or not isinstance(step.get("agent"), str)
            or not isinstance(step.get("version"), str)
        ):
            raise WpkInvalid(f"steps[{index}] needs string fields agent and version.")
        vendor, _, agent = step["agent"].partition("/")
        if not vendor or not agent:
            raise WpkInvalid(f"steps[{index}].agent must be 'vendor/name'.")
        parsed.append(Step(vendor, agent, parse_range(step["version"]), step["version"]))
    return parsed


def _matching_versions(step: Step, queryset) -> list[AgentVersion]:
    return [
        v
        for v in queryset.filter(agent__tenant__slug=step.vendor, agent__name=step.agent)
        if version_in_range(v.version, step.comparisons)
    ]


def _check_steps_exist(tenant: Tenant, steps: list[Step]) -> None:
    visible = AgentVersion.objects.public() | AgentVersion.objects.filter(tenant=tenant)
    for step in steps:
        # Only agents with a version this vendor may see count: another vendor's unreleased
        # agent must look exactly like one that does not exist.
        if not visible.filter(agent__tenant__slug=step.vendor, agent__name=step.agent).exists():
            raise UnknownStepAgent(f"No agent {step.vendor}/{step.agent}.")
        if not _matching_versions(step, visible):
            raise NoMatchingVersion(
                f"No version of {step.vendor}/{step.agent} matches {step.raw_range!r}."
            )


def column_length(field: str) -> int:
    """How long a workflow package's text ``field`` may be: its column's, for the check below
    and the API's schema."""
    return max_length(WorkflowPackage, field)


def _reject_overlong(field: str, value: str) -> None:
    """A stored text must fit its column (a longer one was a database error, a 500)."""
    limit = column_length(field)
    if len(value) > limit:
        raise WpkInvalid(f"{field} is longer than {limit} characters ({len(value)} given).")


def _reject_non_slug_name(name: str) -> None:
    if not slug_re.match(name):
        raise WpkInvalid(
            f"name {name!r} is not a slug: use letters, digits, hyphens and underscores only."
        )


def _reject_non_semver_version(version: str) -> None:
    if not semver.Version.is_valid(version):
        raise WpkInvalid(f"{version!r} is not a SemVer 2.0 version.", code="invalid_version")


# What a WPK document holds, as a file on the portal or a request body at the API.
DOCUMENT_FIELDS = ("name", "version", "content", "signature", "key_id")


def reject_malformed_document(document) -> None:
    """Refuse a document (a parsed file or a request body) that is not a WPK's shape: an object
    holding its five fields and no other, ``content`` an object (``wpk_invalid``), the others
    strings (``invalid``). Each door calls this before it reads the fields, so the same document
    is the same refusal at all of them."""
    _reject_incomplete_document(document)
    _reject_unknown_fields(document)
    _reject_non_object_content(document["content"])
    _reject_non_string_text(document)


def _reject_incomplete_document(document) -> None:
    """A document that is not an object, or lacks a field (a null one counting as missing)."""
    missing = [
        field
        for field in DOCUMENT_FIELDS
        if not isinstance(document, Mapping) or document.get(field) is None
    ]
    if missing:
        raise WpkInvalid(f"The document lacks {', '.join(missing)}.")


def _reject_unknown_fields(document: Mapping) -> None:
    """A field the format does not know: the signature covers name, version and content only,
    so a field beside them would travel unsigned and unread."""
    unknown = sorted(set(document) - set(DOCUMENT_FIELDS))
    if unknown:
        raise WpkInvalid(f"The document holds unknown fields: {', '.join(unknown)}.")


def _reject_non_object_content(content) -> None:
    if not isinstance(content, Mapping):
        raise WpkInvalid("content must be an object with a list of steps.")


def _reject_non_string_text(document: Mapping) -> None:
    """A text field given as a number, a boolean, a list or an object: the API's answer for a
    value that is not a string (400 ``invalid``, DRF's message), at every door: read as its
    ``str()`` it was a text the document does not hold (``["a"]`` the name "['a']")."""
    for field in DOCUMENT_FIELDS:
        if field != "content" and not isinstance(document[field], str):
            raise BadRequest(f"{field}: Not a valid string.", code="invalid")


def signed_document(name: str, version: str, content) -> dict:
    return {"name": name, "version": version, "content": content}


@dataclass(frozen=True)
class WpkUploadResult:
    wpk: WorkflowPackage
    created: bool


def upload_wpk(
    tenant: Tenant,
    *,
    name: str,
    version: str,
    content,
    signature_b64: str,
    key_id: str,
    actor=None,
    request=None,
) -> WpkUploadResult:
    """Verify and store a signed workflow package; the same document again returns the same row.

    Every door passes the text fields as given: they are checked here (the API's serializer
    declares the same limits for its schema), blanks around them ignored, as the API always
    ignored them (the signature covers the stripped name and version)."""
    ensure_vendor(tenant)
    name, version, signature_b64, key_id = (
        text.strip() for text in (name, version, signature_b64, key_id)
    )
    for field, value in (("name", name), ("version", version), ("signature", signature_b64)):
        _reject_overlong(field, value)
    _reject_non_slug_name(name)
    _reject_non_semver_version(version)
    document = signed_document(name, version, content)
    canonical = signing.canonical_json(document)
    if len(canonical) > settings.WPK_MAX_BYTES:
        raise WpkTooLarge(
            f"Workflow packages are limited to {settings.WPK_MAX_BYTES} bytes in their signed "
            f"form (canonical JSON); this one is {len(canonical)} bytes."
        )
    key = verify_document_signature(tenant, document, signature_b64, key_id)
    steps = _parse_steps(content)
    digest = hashlib.sha256(canonical).hexdigest()
    existing = _existing_wpk(tenant, name, version, digest)
    if existing is not None:
        return WpkUploadResult(existing, created=False)
    _check_steps_exist(tenant, steps)
    try:
        with transaction.atomic():
            hold_signing_key(key)
            wpk = WorkflowPackage.objects.create(
                tenant=tenant,
                name=name,
                version=version,
                content=content,
                digest=digest,
                signature=signature_b64,
                signing_key=key,
                uploaded_by=actor,
            )
            record_event(
                "wpk_uploaded",
                request=request,
                actor=actor,
                tenant=tenant,
                target=f"{name}@{version}",
                details={"digest": digest},
            )
    except IntegrityError:
        # The same name and version committed meanwhile (a retry racing its original): the
        # answer this upload would have had after it, that package (the same document) or
        # version_exists (another one), as upload_package answers an agent's.
        existing = _existing_wpk(tenant, name, version, digest)
        if existing is None:
            raise
        return WpkUploadResult(existing, created=False)
    return WpkUploadResult(wpk, created=True)


def _existing_wpk(tenant: Tenant, name: str, version: str, digest: str) -> WorkflowPackage | None:
    """The vendor's package of this name and version if it is this document (``digest``),
    ``VersionExists`` if it is another, None if there is none."""
    existing = WorkflowPackage.objects.filter(tenant=tenant, name=name, version=version).first()
    if existing is not None and existing.digest != digest:
        raise VersionExists(f"{name} {version} exists with other content; bump the version.")
    return existing


def uncertified_steps(wpk: WorkflowPackage) -> list[str]:
    certified = AgentVersion.objects.public()
    return [
        f"{s.vendor}/{s.agent} {s.raw_range}"
        for s in _parse_steps(wpk.content)
        if not _matching_versions(s, certified)
    ]


def review_refusal(wpk: WorkflowPackage) -> AlreadyReviewed | None:
    """Why a reviewer cannot decide this package now, else None: only a pending one is."""
    if wpk.status != ReviewStatus.PENDING:
        return AlreadyReviewed(f"This workflow package was already {wpk.status}.")
    return None


@transaction.atomic
def review_wpk(
    wpk: WorkflowPackage, *, approve: bool, reason: str, reviewer, request=None
) -> WorkflowPackage:
    reason = require_reason(
        reason, max_length=WorkflowPackage._meta.get_field("review_reason").max_length
    )
    check_reviewer(reviewer, wpk.tenant)  # before anything of the package is said
    wpk = locked(wpk)
    if refused := review_refusal(wpk):
        raise refused
    if approve:
        missing = uncertified_steps(wpk)
        if missing:
            raise AgentsNotCertified(
                "Every referenced agent version must be certified and approved first; "
                f"not yet: {', '.join(missing)}."
            )
    wpk.status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    wpk.review_reason = reason
    wpk.reviewed_at = timezone.now()
    wpk.reviewer = reviewer
    wpk.save(update_fields=["status", "review_reason", "reviewed_at", "reviewer"])
    record_change(
        f"wpk_{wpk.status}",
        wpk,
        actor=reviewer,
        request=request,
        target=f"{wpk.name}@{wpk.version}",
        details={"reason": reason},
    )
    return wpk
