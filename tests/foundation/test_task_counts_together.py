"""Tasks sent in a batch (the month close's finalize) are counted with one write per task and
state at the end of the batch: the metric shows the same totals as one write per task."""

import pytest

from edgeplug.health.models import TaskCounter
from edgeplug.health.task_signals import count_task, counted_together

pytestmark = pytest.mark.django_db

SEND = "billing.tasks.collect_invoice_payment"
MAIL = "billing.tasks.email_invoice"


def counts() -> dict:
    return {(c.task, c.state): c.count for c in TaskCounter.objects.filter(state="sent")}


def test_counts_of_a_batch_are_written_once_at_its_end_with_the_same_totals(scrape):
    count_task(SEND, "sent")
    with counted_together():
        for _ in range(3):
            count_task(SEND, "sent")
            count_task(MAIL, "sent")
        assert counts() == {(SEND, "sent"): 1}  # nothing written yet
    assert counts() == {(SEND, "sent"): 4, (MAIL, "sent"): 3}
    text = scrape().content.decode()
    assert f'edgeplug_celery_tasks_total{{state="sent",task="{SEND}"}} 4.0' in text


def test_a_batch_that_fails_still_counts_what_it_sent_and_nested_blocks_write_once():
    with pytest.raises(RuntimeError), counted_together():
        count_task(SEND, "sent")
        with counted_together():
            count_task(SEND, "sent")
        assert counts() == {}  # the inner block leaves the writing to the outer one
        raise RuntimeError("the batch broke after sending")
    assert counts() == {(SEND, "sent"): 2}
    count_task(SEND, "sent")  # after the block: one write each again
    assert counts() == {(SEND, "sent"): 3}
