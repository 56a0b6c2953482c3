"""Submitting a version for certification from a page, telling the truth about the queue.

The run is handed to the broker when the action commits; with the broker down it ends at once
as ``broker_unavailable`` (``CertificationRun.queue_error``), where the API answers 503. A page
then refuses the same way instead of saying the run is queued. An upload keeps a certification
under way or passed, as the API's does (``submit_upload_for_certification``).
"""

from certification.errors import NotQueued
from certification.models import CertificationRun
from certification.pipeline.actions import (
    UploadCertification,
    broker_refusal,
    submit_for_certification,
    submit_upload_for_certification,
)
from marketplace.models import AgentVersion


def submit_and_queue(
    version: AgentVersion, level: str, *, actor=None, request=None
) -> CertificationRun:
    """``submit_for_certification``, raising ``NotQueued`` when the broker refused the run."""
    return _queued(submit_for_certification(version, level, actor=actor, request=request))


def submit_upload_and_queue(
    version: AgentVersion, level: str, *, actor=None, request=None
) -> UploadCertification:
    """``submit_upload_for_certification``, raising ``NotQueued`` when the broker refused the
    new run (a run it kept was queued, or has finished, long ago)."""
    certification = submit_upload_for_certification(version, level, actor=actor, request=request)
    if certification.not_restarted is None:
        _queued(certification.run)
    return certification


def _queued(run: CertificationRun) -> CertificationRun:
    if broker_refusal(run):
        raise NotQueued(
            f"Certification could not be queued: the task queue is unavailable, so run {run.pk} "
            "ended without starting. The package is stored; certify it again later from this "
            "page."
        )
    return run
