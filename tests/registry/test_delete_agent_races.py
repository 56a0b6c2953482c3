"""Deleting an agent while its vendor certifies or uploads to it, as concurrent web workers
run them: each waits for the other's agent row, and then answers as if it came after."""

import pytest
from django.db import transaction

from certification.pipeline import actions
from certification.pipeline.actions import submit_for_certification
from marketplace.models import Agent, AgentVersion
from marketplace.services import delete_agent
from tests.concurrency import in_thread, needs_row_locks, wait_for_blocked_backend
from tests.vendors import package


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_an_agent_cannot_be_deleted_while_a_certification_of_it_is_being_submitted(
    vendor, media_root, monkeypatch
):
    """The delete looked for active runs before the submitted one was committed, then deleted
    the version under it: 500 (a foreign key of the run) instead of 409 run_in_progress."""
    # The run stays queued: committed, it would go to the broker, where a live worker of an
    # earlier test (session-wide) ran it while this test's tables were emptied (a deadlock).
    queued = []
    monkeypatch.setattr(actions, "enqueue_run", queued.append)
    body = vendor.upload(package()).json()
    agent_id = body["agent"]["id"]
    version = AgentVersion.objects.get(pk=body["version"]["id"])
    vendor.client.raise_request_exception = False
    answers, errors = [], []

    with transaction.atomic():  # the certify request, its run stored but not yet committed
        run = submit_for_certification(version, "basic", actor=vendor.membership.user)
        deleting = in_thread(
            lambda: vendor.client.delete(f"/api/v1/agents/{agent_id}"), answers, errors
        )
        wait_for_blocked_backend(deleting)
    deleting.join()

    assert not errors, errors
    [answer] = answers
    assert (answer.status_code, answer.json()["code"]) == (409, "run_in_progress"), answer.content
    assert f"Run {run.pk} " in answer.json()["detail"]
    assert vendor.client.get(f"/api/v1/agents/{agent_id}").status_code == 200
    assert queued == [run.pk]


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_version_uploaded_while_its_agent_is_being_deleted_lands_under_a_new_agent(
    vendor, media_root
):
    """The upload added its version to the agent being deleted: 500 (the agent's foreign key)
    when the delete committed. It is now the upload of a name no agent holds, as it would be
    right after the delete: 201 under a new agent, created from its manifest."""
    old_id = vendor.upload(package("1.0.0")).json()["agent"]["id"]
    data = package("1.1.0")
    vendor.client.raise_request_exception = False
    answers, errors = [], []

    with transaction.atomic():  # the delete request, the agent gone but not yet committed
        delete_agent(Agent.objects.get(pk=old_id), actor=vendor.membership.user)
        uploading = in_thread(lambda: vendor.upload(data), answers, errors)
        wait_for_blocked_backend(uploading)
    uploading.join()

    assert not errors, errors
    [answer] = answers
    assert answer.status_code == 201, answer.content
    agent = Agent.objects.get(tenant=vendor.tenant, name="pump-anomaly")
    assert answer.json()["agent"]["id"] == agent.pk != old_id
    assert list(agent.versions.values_list("version", flat=True)) == ["1.1.0"]
    assert vendor.client.get(f"/api/v1/agents/{old_id}").status_code == 404
