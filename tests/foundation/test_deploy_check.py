"""`manage.py check --deploy` is clean for a production configuration."""

import os
import subprocess
import sys

from django.conf import settings


def test_check_deploy_is_clean_in_production_configuration(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "EDGEPLUG_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 20 + "-production-like-secret-key-" + "x9Y7z" * 6,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "edgeplug.example.com",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "METRICS_TOKEN": "a-random-metrics-token",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
