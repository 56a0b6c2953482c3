"""An upload with ``certify`` whose submission is refused still answers with the upload: the
package is stored, and ``certification_error`` says why no run started (as the portal's upload
page says it), instead of a 409 that hides the upload."""

import pytest

from certification.models import CertificationRun
from marketplace.models import AgentVersion
from tests.vendors import package

pytestmark = pytest.mark.django_db


def test_a_new_version_uploaded_with_certify_still_gets_its_run(vendor):
    vendor.upload(package("1.0.0"), certify="true")
    newer = vendor.upload(package("1.1.0"), certify="true")
    assert newer.status_code == 201, newer.json()
    assert newer.json()["certification_error"] is None
    run = CertificationRun.objects.get(pk=newer.json()["certification_run"])
    assert run.version.version == "1.1.0"


def test_uploading_a_yanked_versions_bytes_again_with_certify_says_it_is_yanked(vendor):
    data = package()
    uploaded = vendor.upload(data).json()
    yanked = vendor.client.post(
        f"/api/v1/agents/{uploaded['agent']['id']}/versions/1.0.0/yank",
        {"reason": "wrong model"},
        format="json",
    )
    assert yanked.status_code == 200, yanked.json()

    again = vendor.upload(data, certify="true")
    assert again.status_code == 200, again.json()
    assert again.json()["certification_run"] is None
    assert again.json()["certification_error"]["code"] == "version_yanked"
    assert not CertificationRun.objects.exists()


def test_an_unknown_level_is_refused_before_anything_is_stored_with_the_submissions_code(vendor):
    """The level is the certification actions' rule (``check_level``): an upload that names
    one it does not know answers as /certification/submit and the portal do, and stores
    nothing, so no upload is half made."""
    refused = vendor.upload(package(), certify="true", level="platinum")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_level")
    assert not AgentVersion.objects.exists()
    assert not CertificationRun.objects.exists()
