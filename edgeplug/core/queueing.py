"""Publishing a task where the caller must hear that the broker refused it: one place that
knows kombu raises several kinds of error when it cannot publish, and turns them all into
``BrokerUnavailable``."""

import logging

from celery.canvas import Signature

from edgeplug.errors import BrokerUnavailable

logger = logging.getLogger(__name__)


def publish(task: Signature, *, what: str) -> None:
    """Send ``task`` to the broker now. A publish the broker refuses raises
    ``BrokerUnavailable`` (``what`` names the work in its detail; the broker's own error is
    its ``__cause__``), so the caller records nothing that says the work was queued."""
    try:
        task.delay()
    except Exception as exc:  # kombu raises several kinds when it cannot publish
        logger.warning("could not queue %s (%s)", what, task.name, exc_info=True)
        raise BrokerUnavailable(
            f"The task queue did not take {what} ({type(exc).__name__}): nothing was sent. "
            "Try again once it is back."
        ) from exc
