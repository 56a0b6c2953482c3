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
