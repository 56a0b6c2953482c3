"""Certification refusals with their stable codes."""

from edgeplug.errors import BrokerUnavailable, Conflict, DomainError, NotFound, Unavailable


class InvalidLevel(DomainError, code="invalid_level"): ...


class RunInProgress(Conflict, code="run_in_progress"): ...


class VersionYanked(Conflict, code="version_yanked"): ...


class NotReviewable(Conflict, code="not_reviewable"): ...


class VersionNotCertified(Conflict, code="version_not_certified"):
    """The run's version is no longer certified (it expired since the run passed)."""


class NotCertified(NotFound, code="not_certified"):
    """No certificate vouches for the version now: never certified, or every one expired."""


class NoVersion(Conflict, code="no_version"): ...


class LevelOverridden(Conflict, code="level_overridden"):
    """A level's overrides (thresholds, security policy) added when another request stored that
    level's row first: there is one row per level, to change."""

    field = "level"


class NotQueued(BrokerUnavailable):
    """The broker refused the run, which ended at once (``CertificationRun.queue_error``).
    The API answers it with ``Retry-After``, as every 503 the client may retry."""

    def __init__(self, detail: str, *, run_id: int | None = None):
        super().__init__(detail)
        self.run_id = run_id

    def extra(self) -> dict:
        return {"run_id": self.run_id}


class FindingsNotMailed(Unavailable, code="findings_not_mailed"):
    """Some re-scan notifications could not be sent (the mail server failed); the others went
    out and are marked, these stay unannounced for the next attempt."""
