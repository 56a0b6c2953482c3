"""The webhook secret runstack makes for its test-mode payment processor (localstripe) in
var/localstripe/webhook_secret is readable by its owner only, and kept from run to run."""

import os
import stat
import sys

import pytest

from edgeplug.core.management.commands import runstack


class _NoProcess:
    """localstripe is not started: only the secret it is given is looked at."""

    def __init__(self, *args, **kwargs):
        pass


@pytest.fixture
def start_test_mode_payments(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(runstack.subprocess, "Popen", _NoProcess)

    def start() -> dict:
        env: dict = {}
        runstack.Command()._test_mode_payments(sys.executable, 12111, env)
        return env

    return start


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_webhook_secret_is_readable_by_its_owner_only(start_test_mode_payments, tmp_path):
    old = os.umask(0o022)  # the usual umask of an operator's shell
    try:
        env = start_test_mode_payments()
    finally:
        os.umask(old)

    secret_file = tmp_path / "localstripe" / "webhook_secret"
    assert _mode(secret_file) == 0o600
    assert env["STRIPE_WEBHOOK_SECRET"] == secret_file.read_text()
    assert env["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")


def test_the_next_run_keeps_the_secret_and_makes_an_older_readable_file_private(
    start_test_mode_payments, tmp_path
):
    secret_file = tmp_path / "localstripe" / "webhook_secret"
    secret_file.parent.mkdir()
    secret_file.write_text("whsec_from_an_earlier_run\n")
    secret_file.chmod(0o644)  # as runstack wrote it until 2026-12-07

    env = start_test_mode_payments()

    assert env["STRIPE_WEBHOOK_SECRET"] == "whsec_from_an_earlier_run"
    assert _mode(secret_file) == 0o600
