"""A real ``moto_server`` on loopback, and Django STORAGES pointing django-storages at it.

Plain helpers, not fixtures: a test module defines the (session) fixtures it needs with them,
so nothing here is imported as a fixture (which linters would report as unused names).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from botocore.config import Config

from tests.network import free_port

REGION = "us-east-1"
# moto accepts any credentials; these never leave the loopback interface.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
S3_BACKEND = "storages.backends.s3.S3Storage"


def moto_server_command() -> list[str]:
    """The ``moto_server`` installed next to this interpreter (the venv's), else on PATH."""
    local = Path(sys.executable).with_name("moto_server")
    found = str(local) if local.exists() else shutil.which("moto_server")
    if found is None:
        raise FileNotFoundError("moto_server is not installed (pip install 'moto[server]')")
    return [found]


@dataclass
class MotoServer:
    process: subprocess.Popen
    endpoint_url: str
    log_path: Path

    def client(self, **config):
        return s3_client(self.endpoint_url, **config)

    def create_bucket(self, prefix: str = "edgeplug-test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def s3_client(endpoint_url: str, **config):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(**config) if config else None,
    )


def start_moto_server(log_dir: Path, timeout: float = 30, attempts: int = 3) -> MotoServer:
    """Start ``moto_server -H 127.0.0.1 -p PORT`` and return once it answers HTTP."""
    last_error = ""
    for attempt in range(attempts):
        port = free_port()
        log_path = log_dir / f"moto_server-{attempt}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = MotoServer(process, f"http://127.0.0.1:{port}", log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                # moto's own API answers once the server is up; S3 calls then work.
                requests.get(f"{server.endpoint_url}/moto-api/", timeout=1)
                return server
            except requests.RequestException:
                time.sleep(0.1)
        server.stop()
        last_error = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"moto_server did not start after {attempts} attempts:\n{last_error}")


def s3_storage(
    bucket: str,
    endpoint_url: str,
    *,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    retries: int | None = None,
) -> dict:
    """A STORAGES["default"] entry mirroring edgeplug/settings.py for ``STORAGE=s3``, its
    timeouts and attempts those of the settings (``S3_*``) unless given: ``retries=0`` is one
    attempt in all, so a dead endpoint fails at once."""
    from django.conf import settings

    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "region_name": REGION,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
        "client_config": Config(
            connect_timeout=settings.S3_CONNECT_TIMEOUT_S
            if connect_timeout is None
            else connect_timeout,
            read_timeout=settings.S3_READ_TIMEOUT_S if read_timeout is None else read_timeout,
            retries={
                "total_max_attempts": settings.S3_MAX_ATTEMPTS if retries is None else retries + 1,
                "mode": "standard",
            },
        ),
    }
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def bucket_keys(client, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", ()))
