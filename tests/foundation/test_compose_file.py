"""docker-compose.yml parses and describes the full stack with health checks."""

import os
import shutil
import subprocess

import pytest
from django.conf import settings


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    return None


def _compose_config(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command, "config"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(
    _compose_command() is None,
    reason="neither docker-compose nor the docker compose plugin is installed",
)
def test_compose_config_parses_and_has_every_service_with_a_healthcheck():
    result = _compose_config(
        _compose_command(), {**os.environ, "SECRET_KEY": "s", "POSTGRES_PASSWORD": "p"}
    )
    assert result.returncode == 0, result.stderr
    import yaml

    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name


def test_compose_refuses_to_start_without_secrets():
    command = _compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "POSTGRES_PASSWORD")}
    result = _compose_config(command, env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr
