"""Celery task of the vulnerability database: re-scan certified versions after an import.

`import_osv` queues it once its import has committed; running it twice is harmless, since
findings are unique per version, advisory and component and each is announced once.
"""

from dataclasses import asdict

from celery import shared_task

from certification.vulndb import rescan
from certification.vulndb.database import RESCAN_TASK


@shared_task(name=RESCAN_TASK, acks_late=True)
def rescan_certified_versions() -> dict:
    return asdict(rescan.rescan_certified_versions())
