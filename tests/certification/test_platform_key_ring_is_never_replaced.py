"""The platform key ring is generated once, by the embedded default's first start, and never
again: a lost var/platform-keys.json (a restore of the database without var/) or a deployment
with no configured keys (each Kubernetes pod with a var dir of its own) stops with a clear
error, where a new key used to be minted silently and disowned every stored certificate."""

import contextlib
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from certification import checks
from certification.certificates import platform_keys
from certification.tasks import expire_lapsed_certifications
from marketplace.models import AgentVersion
from tests.certification.conftest import model_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_configured_keys(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.PLATFORM_SIGNING_KEYS = ""  # as `kubectl create secret --from-env-file` sets it
    settings.PLATFORM_SIGNING_KEYS_FILE = ""
    platform_keys._cached.cache_clear()
    yield tmp_path
    platform_keys._cached.cache_clear()


def test_the_embedded_default_makes_its_key_ring_on_its_first_start(no_configured_keys, settings):
    settings.PLATFORM_SIGNING_KEYS_GENERATE = True
    ring = platform_keys.keyring()
    assert (no_configured_keys / "platform-keys.json").is_file()
    platform_keys._cached.cache_clear()
    assert platform_keys.keyring() == ring  # read back, not made again


def test_a_lost_key_ring_is_refused_while_certificates_name_its_keys(
    certify, no_configured_keys, settings
):
    settings.PLATFORM_SIGNING_KEYS_GENERATE = True
    run = certify(model_package())
    assert run.status == "passed"
    signed_by = run.certificate.key_id

    # The database is restored, but var/ is a fresh directory.
    (no_configured_keys / "platform-keys.json").unlink()
    platform_keys._cached.cache_clear()
    with pytest.raises(platform_keys.PlatformKeyError) as refused:
        platform_keys.keyring()
    assert signed_by in str(refused.value)
    assert "PLATFORM_SIGNING_KEYS" in str(refused.value)
    assert "platform-keys.json" in str(refused.value)
    assert not (no_configured_keys / "platform-keys.json").exists()

    with contextlib.suppress(platform_keys.PlatformKeyError):
        expire_lapsed_certifications()
    version = AgentVersion.objects.get(pk=run.version_id)
    assert version.certification_status == "certified"


def test_a_deployment_with_no_configured_keys_never_mints_one(no_configured_keys, settings):
    """On PostgreSQL (not the embedded default) web pods, workers and beat would each mint and
    publish a key of their own: refused, and the system check stops the start."""
    settings.PLATFORM_SIGNING_KEYS_GENERATE = False
    with pytest.raises(platform_keys.PlatformKeyError, match="PLATFORM_SIGNING_KEYS"):
        platform_keys.keyring()
    assert not (no_configured_keys / "platform-keys.json").exists()
    (error,) = checks.platform_key_ring_is_configured(None)
    assert error.id == "certification.E001"
    assert "platform_key" in error.hint

    entry = platform_keys.generate_key_entry()
    settings.PLATFORM_SIGNING_KEYS = json.dumps({"keys": [entry], "active": entry["key_id"]})
    assert checks.platform_key_ring_is_configured(None) == []
    settings.PLATFORM_SIGNING_KEYS = "paste the key ring here"
    (error,) = checks.platform_key_ring_is_configured(None)
    assert "not JSON" in error.msg
    # A ring naming "active" twice: which key signs would depend on the reader.
    ring = json.dumps({"keys": [entry], "active": entry["key_id"]})
    settings.PLATFORM_SIGNING_KEYS = ring.replace('"active": ', '"active": "other", "active": ')
    (error,) = checks.platform_key_ring_is_configured(None)
    assert 'key "active" appears twice in one object' in error.msg


def test_a_postgresql_deployment_without_keys_refuses_to_start_but_can_make_one(tmp_path):
    """As the Kubernetes example's migrate Job and web pods start: `check` (which `migrate`
    runs) stops on certification.E001; `platform_key` still prints the first key entry."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "EDGEPLUG_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://edgeplug@127.0.0.1:5432/edgeplug",
        "SECRET_KEY": "k" * 60,  # given, as the kit's pods must be (else settings stop first)
        "PLATFORM_SIGNING_KEYS": "",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=django_settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = manage("check")
    assert refused.returncode != 0
    assert "certification.E001" in refused.stderr
    assert "PLATFORM_SIGNING_KEYS" in refused.stderr
    made = manage("platform_key")
    assert made.returncode == 0, made.stderr
    entry = json.loads(made.stdout)
    env["PLATFORM_SIGNING_KEYS"] = json.dumps({"keys": [entry], "active": entry["key_id"]})
    assert manage("check").returncode == 0
    assert not (tmp_path / "platform-keys.json").exists()
    # One host whose processes share one var/ (docker compose) lets its first start make it.
    env["PLATFORM_SIGNING_KEYS"] = ""
    env["PLATFORM_SIGNING_KEYS_GENERATE"] = "true"
    assert manage("check").returncode == 0
