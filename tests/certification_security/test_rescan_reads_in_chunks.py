"""The re-scan reads the certified versions a chunk at a time, each chunk a plain query by id
(``pk > last``), and holds no database cursor while it re-scans them. It iterated a server-side
cursor (``.iterator()``) outside a transaction while each version committed its findings: Django
declared it WITH HOLD, kept by the database session, so behind PgBouncer in transaction pooling
(docs/scaling.md) the fetch past the first 2,000 versions reached another server connection
(``cursor ... does not exist``), and with ``DISABLE_SERVER_SIDE_CURSORS`` every version was read
into memory at once."""

import pytest
from django.db import connection

from certification.models import ScanFinding
from certification.vulndb import rescan
from marketplace.models import AgentVersion, CertificationStatus

from .conftest import URLLIB3_VULNERABLE

pytestmark = pytest.mark.django_db


def _open_cursors() -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_cursors")
        return cursor.fetchall()


@pytest.fixture
def two_a_chunk(monkeypatch):
    monkeypatch.setattr(rescan, "RESCAN_CHUNK", 2)


@pytest.fixture
def rescanned(monkeypatch):
    """The versions ``rescan_version`` was called with, in order, and the cursors open then;
    ``rescanned.meanwhile`` runs once, as the first version is re-scanned."""
    real = rescan.rescan_version

    class Seen(list):
        cursors: list = []
        meanwhile = staticmethod(lambda: None)

    seen = Seen()

    def spy(version):
        if not seen:
            seen.meanwhile()
        seen.append(version.pk)
        if connection.vendor == "postgresql":
            seen.cursors += _open_cursors()
        return real(version)

    monkeypatch.setattr(rescan, "rescan_version", spy)
    return seen


def certify_several(certified, count: int) -> list[int]:
    return [certified(URLLIB3_VULNERABLE, name=f"pump-{i}").pk for i in range(count)]


def test_more_versions_than_a_chunk_are_all_rescanned_without_a_cursor(
    tmp_path, certified, import_advisories, two_a_chunk, rescanned
):
    versions = certify_several(certified, 5)
    import_advisories()

    report = rescan.rescan_certified_versions()

    assert rescanned == versions  # each once, in id order, over three chunks
    assert rescanned.cursors == []
    assert report.versions == 5
    assert report.versions_with_new_findings == 5
    assert set(ScanFinding.objects.values_list("version_id", flat=True)) == set(versions)


def test_a_version_certified_while_the_rescan_runs_is_rescanned_when_past_the_ones_read(
    tmp_path, certified, import_advisories, two_a_chunk, rescanned
):
    """Read by id: one certified meanwhile with a higher id than the chunk read is in a later
    chunk; one with a lower id waits for the next re-scan (its own certification scanned it)."""
    early, first, second, late = certify_several(certified, 4)
    import_advisories()
    waiting = AgentVersion.objects.filter(pk__in=[early, late])
    waiting.update(certification_status=CertificationStatus.QUEUED)
    rescanned.meanwhile = lambda: waiting.update(certification_status=CertificationStatus.CERTIFIED)

    report = rescan.rescan_certified_versions()

    assert rescanned == [first, second, late]
    assert report.versions == 3
