"""Celery tasks of the vulnerability database: re-scan certified versions after an import, and
close the imports whose process died (beat).

`import_osv` queues the re-scan as its import closes; running it twice is harmless,
since findings are unique per version, advisory and component and each is announced once. A
mail that fails (FindingsNotMailed) fails the attempt, which is retried with backoff: the retry
mails only what is still unannounced.
"""

from dataclasses import asdict

from celery import shared_task

from certification.errors import FindingsNotMailed
from certification.vulndb import database, rescan
from certification.vulndb.database import RESCAN_TASK
from edgeplug.core.retries import RETRY_WAIT_MAX_S

# Countdowns of 60 s doubling up to RETRY_WAIT_MAX_S (600 s): below the broker's visibility
# timeout, so a waiting retry is never handed out twice.
MAIL_RETRIES = 5


@shared_task(
    name=RESCAN_TASK,
    acks_late=True,
    autoretry_for=(FindingsNotMailed,),
    retry_backoff=60,
    retry_backoff_max=RETRY_WAIT_MAX_S,
    max_retries=MAIL_RETRIES,
)
def rescan_certified_versions() -> dict:
    return asdict(rescan.rescan_certified_versions())


@shared_task(name="certification.vulndb.fail_stalled_imports")
def fail_stalled_imports() -> int:
    return database.fail_stalled_imports()
