"""OSV exports written from the real advisories in tests/security, packages with a chosen SBOM,
versions certified with one, a reviewer, and a stage context for calling the security stage
directly."""

import json
import zipfile
from collections.abc import Iterable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from certification.models import AdvisoryImport, CertificationResult
from certification.pipeline.levels import thresholds_for
from certification.pipeline.orchestration import record_result
from certification.pipeline.stages import security
from certification.pipeline.stages.base import StageContext
from certification.security import osv
from certification.vulndb import database as vulndb
from marketplace.models import AgentVersion
from marketplace.packageformat import inspect_package
from marketplace.storage import package_limits
from tests.factories import CertificationRunFactory, UserFactory
from tests.invoicing.conftest import broker_refuses  # noqa: F401
from tests.packageformat.builders import make_manifest, make_package
from tests.security import advisories
from tests.security.sboms import component, cyclonedx
from tests.vendors import VENDOR_SLUG

LOG4J_PURL = "pkg:maven/org.apache.logging.log4j/log4j-core@{}"
# In Log4Shell's 2.13.0 <= v < 2.15.0 range, and out of it once patched.
LOG4J_VULNERABLE = component("log4j-core", "2.14.1", LOG4J_PURL.format("2.14.1"))
LOG4J_PATCHED = component("log4j-core", "2.17.1", LOG4J_PURL.format("2.17.1"))
# urllib3's cookie leak (GHSA-v845-jxx5-vc9f, CVSS 5.9 medium) is fixed in 1.26.17.
URLLIB3_VULNERABLE = component("urllib3", "1.26.16", "pkg:pypi/urllib3@1.26.16")
URLLIB3_PATCHED = component("urllib3", "2.0.7", "pkg:pypi/urllib3@2.0.7")


def write_osv_dir(root: Path, records: Iterable[dict[str, Any]]) -> Path:
    """One `<id>.json` per record, as an unpacked osv.dev export."""
    root.mkdir(parents=True, exist_ok=True)
    for record in records:
        (root / f"{record['id']}.json").write_text(json.dumps(record))
    return root


def write_osv_zip(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """A zip of `<id>.json` entries, as osv.dev publishes `<ecosystem>/all.zip`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


def import_runs(*fields: str) -> list[tuple]:
    """These ``fields`` of each import record, oldest first."""
    return list(AdvisoryImport.objects.order_by("pk").values_list(*fields))


class WorkerLost(BaseException):
    """The process ends here (SIGTERM, OOM): no handler of the code it ends runs."""


def import_osv(path, *args) -> str:
    """``manage.py import_osv PATH ARGS…`` as an operator runs it: what it printed."""
    out = StringIO()
    call_command("import_osv", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def fails_after_the_first_record(error: BaseException):
    """A stand-in for `load_osv_path` that yields the path's first record, then raises."""
    real = osv.load_osv_path

    def load(path, **kwargs):
        records = real(path, **kwargs)
        yield next(records)
        raise error

    return load


# Two PyPI advisories: under ``small_batches``, an import of two transactions.
PYPI = [advisories.URLLIB3_COOKIE, advisories.REQUESTS_PROXY_AUTH]


@pytest.fixture
def small_batches(monkeypatch):
    """One record per transaction, standing for the 500 of a real export."""
    monkeypatch.setattr(vulndb, "BATCH_SIZE", 1)


@pytest.fixture
def queued(monkeypatch):
    """The tasks sent to the broker, by name (an import sends the re-scan as its record
    closes, before that commits)."""
    names: list[str] = []

    class Signature:
        def __init__(self, name):
            self.name = name

        def delay(self):
            names.append(self.name)

    monkeypatch.setattr(vulndb, "signature", Signature)
    return names


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """with committed(): ... runs the on-commit callbacks of what it wraps, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def killed_import(tmp_path, monkeypatch, clock, committed):
    """An import of PYPI whose process dies after committing its first batch, now: its folder.
    What it left is as a SIGKILL leaves it (the record ``running``), with on-commit work run."""
    folder = write_osv_dir(tmp_path / "osv", PYPI)
    with monkeypatch.context() as patched:
        patched.setattr(vulndb, "load_osv_path", fails_after_the_first_record(WorkerLost()))
        with committed(), pytest.raises(WorkerLost):
            vulndb.import_osv(folder)
    return folder


@pytest.fixture
def import_advisories(db, tmp_path):
    """import_advisories(*records) -> ImportReport, without queuing a re-scan."""
    counter = iter(range(1_000))

    def load(*records: dict[str, Any]) -> vulndb.ImportReport:
        folder = write_osv_dir(tmp_path / f"osv-{next(counter)}", records or advisories.ALL)
        return vulndb.import_osv(folder, rescan=False)

    return load


def sbom_package(
    *components: dict[str, Any], name="pump-anomaly", version="1.0.0", vendor=VENDOR_SLUG
) -> bytes:
    """A valid package whose sbom.cdx.json lists `components`."""
    return make_package(
        make_manifest(name=name, version=version, vendor=vendor),
        files={"sbom.cdx.json": cyclonedx(*components)},
    )


@pytest.fixture
def certified(vendor):
    """certified(*components, name=..., level=..., by=vendor) -> a version certified with this
    SBOM now, its run's security stage recorded as the pipeline records it; ``before=True``:
    as it recorded it until 2026-12-07 (its result only, no findings known at certification)."""

    def make(
        *components, name="pump-anomaly", level="standard", by=None, before=False
    ) -> AgentVersion:
        uploader = by or vendor
        data = sbom_package(*components, name=name, vendor=uploader.tenant.slug)
        body = uploader.upload(data).json()
        version = AgentVersion.objects.get(pk=body["version"]["id"])
        outcome = security.run(stage_context(data, level))
        run = CertificationRunFactory(
            version=version, level=level, stages=["validation", "security"]
        )
        if before:
            CertificationResult.objects.create(
                run=run,
                test_suite="security",
                test_result=outcome.result,
                findings=outcome.findings,
                metrics=outcome.metrics,
            )
        else:
            record_result(run, "security", outcome, duration_ms=0)
        AgentVersion.objects.filter(pk=version.pk).update(certification_status="certified")
        version.refresh_from_db()
        return version

    return make


@pytest.fixture
def vulnerable(tmp_path, certified):
    """vulnerable(*vendors): each vendor's certified version now has one unannounced finding."""

    def make(*vendors):
        for by in vendors:
            certified(URLLIB3_VULNERABLE, by=by)
        folder = write_osv_dir(tmp_path / "osv", [advisories.URLLIB3_COOKIE])
        call_command("import_osv", str(folder), "--rescan=never", stdout=None)

    return make


@pytest.fixture
def reviewer():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="reviewers"))
    return user


def stage_context(data: bytes, level: str = "standard") -> StageContext:
    return StageContext(
        run_id=0,
        level=level,
        thresholds=thresholds_for(level),
        digest="0" * 64,
        package_bytes=data,
        package=inspect_package(data, package_limits()),
    )
