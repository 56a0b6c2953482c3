"""The verification example in docs/certificates.md works on a real issued certificate."""

import base64
import json
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from certification.certificates import platform_keys
from tests.certification.conftest import model_package

pytestmark = pytest.mark.django_db
DOC = settings.BASE_DIR / "docs" / "certificates.md"


def _example() -> str:
    text = DOC.read_text()
    found = re.search(
        r"<!-- verify-example: begin -->\s*```python\n(.*?)```\s*<!-- verify-example: end -->",
        text,
        re.S,
    )
    assert found, "docs/certificates.md lost its verification example"
    return found.group(1)


def _run_example(tmp_path, document: dict, keyset: dict) -> subprocess.CompletedProcess:
    (tmp_path / "certificate.json").write_text(json.dumps(document))
    (tmp_path / "keys.json").write_text(json.dumps(keyset))
    (tmp_path / "verify.py").write_text(_example())
    # -I: isolated, so the example sees only installed packages, not the project's code.
    return subprocess.run(
        [sys.executable, "-I", "verify.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def issued(certify, settings):
    key = platform_keys.generate_key_entry()
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": [key], "active": key["key_id"]})
    document = certify(model_package()).certificate.document()
    keyset = Client().get("/.well-known/edgeplug/keys.json").json()
    return document, keyset


def test_the_example_is_short_and_uses_only_cryptography_and_rfc8785():
    code = _example()
    imports = set(re.findall(r"^(?:from|import) (\w+)", code, re.M))
    assert imports == {"base64", "json", "rfc8785", "cryptography"}
    assert len([line for line in code.splitlines() if line.strip()]) <= 12


def test_the_documented_example_verifies_an_issued_certificate(tmp_path, issued):
    document, keyset = issued
    result = _run_example(tmp_path, document, keyset)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"signature ok: {document['certificate']['package']['digest']}"


def test_the_documented_example_refuses_a_tampered_certificate(tmp_path, issued):
    document, keyset = issued
    document["certificate"]["level"] = "hardware"
    result = _run_example(tmp_path, document, keyset)
    assert result.returncode != 0
    assert "InvalidSignature" in result.stderr


def test_the_signature_covers_the_inner_object_not_the_envelope(issued):
    import rfc8785
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    document, keyset = issued
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(keyset["keys"][0]["public_key"]))
    signature = base64.b64decode(document["signature"])
    key.verify(signature, rfc8785.dumps(document["certificate"]))
    envelope = {k: v for k, v in document.items() if k != "signature"}
    with pytest.raises(InvalidSignature):
        key.verify(signature, rfc8785.dumps(envelope))
