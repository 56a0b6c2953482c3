"""deploy/k8s/base/secret.example.env lists each Secret key with an empty value ("fill a copy"),
and a key left empty in the filled copy reaches every pod as an empty variable (envFrom
secretRef). Each such key starts the service as unset, or stops it naming the variable (the
README's promise for a value the service cannot use): an empty EMAIL_URL, optional in the
kit, stopped every process with "Invalid email schema", an empty DATABASE_URL with a bare
KeyError: 'ENGINE'."""

import pytest
from django.conf import settings

from tests.processes import python_with_settings

SECRET_EXAMPLE = settings.BASE_DIR / "deploy" / "k8s" / "base" / "secret.example.env"
NAMES = [
    line.partition("=")[0]
    for line in SECRET_EXAMPLE.read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def test_the_kit_lists_the_keys_a_deployment_needs():
    assert {"SECRET_KEY", "DATABASE_URL", "EMAIL_URL"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_key_left_empty_starts_the_service_or_is_refused_by_name(tmp_path, name):
    started = python_with_settings(tmp_path, "import django; django.setup()", **{name: ""})
    if started.returncode != 0:
        refusal = started.stderr.strip().splitlines()[-1]
        assert name in refusal, f"{name}= (as the kit leaves it) stops the service with: {refusal}"
