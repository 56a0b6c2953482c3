"""Certification refusals with their stable codes."""

from edgeplug.core.errors import Conflict, DomainError, Forbidden


class InvalidLevel(DomainError):
    code = "invalid_level"


class RunInProgress(Conflict):
    code = "run_in_progress"


class VersionYanked(Conflict):
    code = "version_yanked"


class NotReviewable(Conflict):
    code = "not_reviewable"


class OwnTenantReview(Forbidden):
    code = "own_tenant_review"


class ReasonRequired(DomainError):
    code = "reason_required"
