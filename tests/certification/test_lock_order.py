"""Every action takes the rows it locks in one order, an upload's signing key (shared), then
agent, then version, then run (docs/architecture.md; ``hold_signing_key``, ``lock_agent``,
``lock_run``), so no two wait for each other: an upload with ``certify`` took the version
before the agent, and a run's end (the verdict, the sweeper, a refused publish) the run
before the agent it locks to put a still-certified version back in the catalogue, while a
yank, a delete or a review take the agent first."""

import re
from functools import partial

import pytest
from django.db import connection

from certification import tasks
from certification.pipeline import actions, orchestration
from certification.pipeline.canvas import enqueue_run
from certification.pipeline.levels import Level
from marketplace.services import upload_package
from tests.factories import AgentVersionFactory, CertificationRunFactory, approved_certification
from tests.vendors import package

pytestmark = pytest.mark.django_db

ORDER = [
    "marketplace_vendorkey",
    "marketplace_agent",
    "marketplace_agentversion",
    "certification_certificationrun",
]


def _locked_tables(act) -> list[str]:
    """The tables of the rows ``act`` locks, in the order it first locks each."""
    locked = []

    def record(execute, sql, params, many, context):
        if any(f" FOR {mode}" in sql for mode in ("NO KEY UPDATE", "UPDATE", "SHARE")):
            table = re.search(r'FROM "(\w+)"', sql).group(1)
            if table in ORDER and table not in locked:
                locked.append(table)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        act()
    return locked


def _in_order(tables: list[str]) -> bool:
    return tables == sorted(tables, key=ORDER.index)


def test_an_upload_holds_its_signing_key_before_it_takes_the_agent(vendor, media_root):
    """Its key held (``hold_signing_key``) so a revocation waits for it; taken first, and
    ``revoke_key`` takes nothing else, so neither waits for the other holding what it wants."""
    vendor.upload(package(version="1.0.0"))  # the agent exists: the next upload locks it
    data = package(version="1.1.0")
    upload = partial(upload_package, vendor.tenant, data, vendor.sign(data), vendor.key.key_id)

    locked = _locked_tables(upload)

    assert locked == ORDER[:2], locked


def test_an_upload_with_certify_takes_the_agent_before_the_version():
    version = AgentVersionFactory()
    CertificationRunFactory(version=version, status="failed")  # so it is submitted again

    locked = _locked_tables(lambda: actions.submit_upload_for_certification(version, Level.BASIC))

    assert locked[:2] == ORDER[1:3], locked


@pytest.mark.parametrize("end", ["verdict", "sweeper", "refused publish"])
def test_a_run_s_end_takes_the_agent_before_the_run(end, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.start_run, "apply_async", refuse)
    version = AgentVersionFactory()
    approved_certification(version)  # a failed run puts it back: its agent is locked
    run = CertificationRunFactory(version=version, level="basic", running=True)
    act = {
        "verdict": lambda: orchestration.finalize_run(run.pk),
        "sweeper": lambda: actions.end_interrupted_run(run, "worker lost"),
        "refused publish": lambda: enqueue_run(run.pk),
    }[end]
    if end == "refused publish":
        run.status = "queued"
        run.save(update_fields=["status"])

    locked = _locked_tables(act)

    assert locked[0] == "marketplace_agent" and _in_order(locked), locked
