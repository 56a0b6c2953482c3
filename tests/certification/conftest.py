"""Packages built from the sample TFLM models, and helpers to run a certification in-process."""

from pathlib import Path

import pytest

from certification.models import CertificationRun
from certification.pipeline import actions
from certification.simulation import toolchain
from certification.tflm import sample_models
from marketplace.models import AgentVersion
from tests.packageformat.builders import make_manifest, make_package


def model_package(
    sample=None,
    *,
    version="1.0.0",
    name="sensor-guard",
    invariants=None,
    firmware: bytes | None = None,
    **manifest,
) -> bytes:
    sample = sample or sample_models.sensor_classifier()
    fields = {
        "name": name,
        "version": version,
        "vendor": "acme-robotics",
        "model": sample.manifest_model(),
        "invariants": list(sample.invariants if invariants is None else invariants),
        "limits": {"inference_time_us": 400, "model_size_kb": 64, "arena_kb": 16},
    }
    fields.update(manifest)
    if firmware is not None:
        fields["firmware"] = {"file": "firmware.elf", "board": "mps2-an386"}
    kwargs = {"model_bytes": sample.tflite}
    if firmware is not None:
        kwargs["firmware_bytes"] = firmware
    return make_package(make_manifest(**fields), **kwargs)


@pytest.fixture
def certify(vendor, eager_celery, django_capture_on_commit_callbacks):
    """Upload a package and certify it in this process through the real Celery canvas
    (eager mode): returns the finished run. The worker tests run the same canvas for real."""

    def go(data: bytes, level="basic") -> CertificationRun:
        body = vendor.upload(data).json()
        version = AgentVersion.objects.get(pk=body["version"]["id"])
        with django_capture_on_commit_callbacks(execute=True):
            run = actions.submit_for_certification(version, level, actor=vendor.membership.user)
        run.refresh_from_db()
        return run

    return go


@pytest.fixture(scope="session")
def m4_firmware(tmp_path_factory) -> dict[str, bytes]:
    missing = toolchain.missing_tools()
    if missing:
        pytest.skip(
            f"hardware simulation needs {', '.join(missing)} (see docs/firmware-harness.md)"
        )
    elves = toolchain.build_sample_fixtures(tmp_path_factory.mktemp("firmware"), "mps2-an386")
    return {name: Path(path).read_bytes() for name, path in elves.items()}
