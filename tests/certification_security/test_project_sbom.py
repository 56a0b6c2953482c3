"""`make sbom` writes the project's own CycloneDX SBOM, and our scanner accepts it."""

import json
import subprocess

import django
import pytest
from django.conf import settings

from certification.security.sbom import parse_sbom

pytestmark = pytest.mark.slow


def test_make_sbom_writes_a_valid_cyclonedx_sbom_of_the_environment(tmp_path):
    output = tmp_path / "sbom" / "edgeplug.cdx.json"

    result = subprocess.run(
        ["make", "--no-print-directory", "sbom", f"SBOM_OUT={output}"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    sbom = parse_sbom(output.read_bytes())
    assert sbom.spec_version == "1.6"
    assert sbom.issues == ()  # every component has a valid purl
    purls = {component.name.lower(): component.purl for component in sbom.components}
    assert purls["django"] == f"pkg:pypi/django@{django.__version__}"
    for name in ("celery", "djangorestframework", "cyclonedx-python-lib", "packageurl-python"):
        assert name in purls, name
    document = json.loads(output.read_text())
    assert document["metadata"]["component"]["name"] == "edgeplug"
