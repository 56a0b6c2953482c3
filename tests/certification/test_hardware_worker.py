"""Issue 5's end-to-end: a `hardware`-level certification of the good package, with its
fixture firmware, passes on a real Celery worker that runs QEMU with the counting plugin."""

import time

import pytest
from django.test import Client

from edgeplug.certificates import verify_certificate
from tests.certification.conftest import model_package

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.qemu,
    pytest.mark.slow,
]


def test_hardware_certification_passes_end_to_end_on_the_worker(live_worker, vendor, m4_firmware):
    upload = vendor.upload(
        model_package(firmware=m4_firmware["good"]), certify="true", level="hardware"
    ).json()
    run_url = f"/api/v1/certification/{upload['certification_run']}"
    deadline = time.monotonic() + 300
    run = vendor.client.get(run_url).json()
    while run["status"] not in ("passed", "failed", "error") and time.monotonic() < deadline:
        time.sleep(0.5)
        run = vendor.client.get(run_url).json()

    results = {r["test_suite"]: r for r in run["results"]}
    assert run["status"] == "passed", {
        k: (r["test_result"], r["test_logs"][:300]) for k, r in results.items()
    }
    assert set(results) == {
        "validation",
        "invariants",
        "performance",
        "security",
        "simulation",
        "signing",
    }
    simulation = results["simulation"]["metrics"]
    assert simulation["equivalent"] is True
    assert simulation["board"] == "mps2-an386"
    assert 0 < simulation["latency_max_us"] <= 500

    document = vendor.client.get(run["certificate_url"]).json()
    keyset = Client().get("/.well-known/edgeplug/keys.json").json()
    certificate = verify_certificate(document, keyset).payload
    assert certificate["level"] == "hardware"
    stages = {s["stage"]: s for s in certificate["stages"]}
    assert stages["simulation"]["metrics"]["latency_max_us"] == simulation["latency_max_us"]
