"""The hostile-package corpus, through the upload API: each refused with its code, nothing kept."""

import pytest

from marketplace.models import Agent, AgentVersion
from marketplace.storage import package_limits
from tests.packageformat.hostile import HOSTILE_CASES
from tests.vendors import stored_blobs

pytestmark = pytest.mark.django_db


def test_corpus_is_large_enough():
    assert len(HOSTILE_CASES) >= 25
    assert len({c.name for c in HOSTILE_CASES}) == len(HOSTILE_CASES)


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=[c.name for c in HOSTILE_CASES])
def test_hostile_package_is_refused_with_its_code(vendor, media_root, case):
    data = case.build(package_limits())
    response = vendor.upload(data)
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == case.code, response.json()
    assert AgentVersion.objects.count() == 0
    assert Agent.objects.count() == 0
    assert not stored_blobs(media_root)


def test_a_second_model_named_with_a_trailing_dot_is_refused_as_a_duplicate(vendor):
    """``model.tflite`` (the model certification checks) and ``model.tflite.`` (another model,
    listed in RECORD): Windows drops trailing dots and spaces from file names (Win32 path
    normalisation; zipfile's own extract does the same there), so a buyer extracting the
    certified package on Windows would get the later entry, the uncertified model."""
    import io
    import zipfile

    from certification.tflm import sample_models
    from marketplace.packageformat.pack import build_archive
    from tests.packageformat.builders import default_files, make_manifest

    good, other = sample_models.sensor_classifier(), sample_models.violates_output_range()
    manifest = make_manifest(
        name="twin-model", model=good.manifest_model(), invariants=list(good.invariants)
    )
    files = default_files(manifest, model_bytes=good.tflite)
    files["model.tflite."] = other.tflite
    data = build_archive(files)
    windows_names = {
        zipfile.ZipFile._sanitize_windows_name(name, "\\")
        for name in zipfile.ZipFile(io.BytesIO(data)).namelist()
    }
    assert "model.tflite" in windows_names and "model.tflite." not in windows_names

    response = vendor.upload(data)
    assert (response.status_code, response.json().get("code")) == (422, "duplicate_entry"), (
        response.status_code,
        response.json(),
    )
