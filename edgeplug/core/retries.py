"""How long a Celery task waits between its own retries, at most.

A task waiting for its retry is held, unacknowledged, by the worker that took it until its
countdown ends. The Redis broker hands a message out again once ``CELERY_VISIBILITY_TIMEOUT_S``
(default 900 s) has passed since its delivery, live worker or not, and both copies then run:
a payment notice would be emailed twice, and each copy would schedule retries of its own. So
every backoff stops at ``RETRY_WAIT_MAX_S``; a task that must keep trying for hours takes
more retries, not longer waits (tests/foundation/test_retry_waits_outlast_no_redelivery.py).
"""

RETRY_WAIT_MAX_S = 600
