"""Celery task of the vulnerability database: re-scan certified versions after an import.

`import_osv` queues it once its import has committed; running it twice is harmless, since
findings are unique per version, advisory and component and each is announced once. A mail
that fails (FindingsNotMailed) fails the attempt, which is retried with backoff: the retry
mails only what is still unannounced.
"""

from dataclasses import asdict

from celery import shared_task

from certification.errors import FindingsNotMailed
from certification.vulndb import rescan
from certification.vulndb.database import RESCAN_TASK

# Countdowns of 60 s doubling up to 600 s: below the broker's visibility timeout (900 s), so a
# waiting retry is never handed out twice.
MAIL_RETRIES = 5


@shared_task(
    name=RESCAN_TASK,
    acks_late=True,
    autoretry_for=(FindingsNotMailed,),
    retry_backoff=60,
    retry_backoff_max=600,
    max_retries=MAIL_RETRIES,
)
def rescan_certified_versions() -> dict:
    return asdict(rescan.rescan_certified_versions())
