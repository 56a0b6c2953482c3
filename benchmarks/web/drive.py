"""Load generators: ``wrk`` for the read paths, a threaded client for signed uploads.

Uploads are not driven by wrk: every request must carry different, pre-signed bytes (the
same bytes again are answered from the existing row, which is not the path measured).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from edgeplug import signing
from tests.packageformat.builders import make_manifest, make_package

REPORT_SCRIPT = Path(__file__).with_name("report.lua")


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def wrk(
    url: str,
    *,
    connections: int,
    duration_s: float,
    threads: int,
    token: str = "",
    bust_cache: bool = False,
) -> WrkResult:
    """``bust_cache`` makes every request's URL distinct (report.lua names a new host in each)."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "2s",
        "-s",
        str(REPORT_SCRIPT),
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "WRK_CACHE_BUST": uuid.uuid4().hex[:12] if bust_cache else ""}
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True, env=env)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    seconds = data["duration_us"] / 1e6
    return WrkResult(
        requests_per_s=round(data["requests"] / seconds, 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        errors=sum(data["errors"].values()),
        requests=data["requests"],
    )


class Client:
    """One keep-alive HTTP connection per thread to the stack (for clients whose requests
    each differ, which wrk cannot send)."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def request(self, method: str, path: str, *, body=None, headers=None) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            raise


def probe(url: str, token: str = "") -> int:
    """One request, however long it takes: the status a target answers (wrk's short runs may
    finish none of a slow target's requests on a loaded machine)."""
    scheme_less = url.removeprefix("http://")
    host_port, _, path = scheme_less.partition("/")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", "/" + path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def settle(url: str, *, quiet_ms: float = 50.0, limit_s: float = 15.0) -> float:
    """Wait until the server has worked off what the last wrk run left queued, and return the
    seconds waited. When wrk stops, the requests already sent on its connections (up to one
    per connection) are still in gunicorn's accept queue and are answered to nobody; without
    this wait, the next target's first requests queue behind them and its p99 measures the
    previous target. Settled means three cheap requests in a row under ``quiet_ms``."""
    started = time.monotonic()
    quiet = 0
    while quiet < 3 and time.monotonic() - started < limit_s:
        sent = time.monotonic()
        probe(url)
        quiet = quiet + 1 if (time.monotonic() - sent) * 1000 < quiet_ms else 0
        if not quiet:
            time.sleep(0.1)
    return round(time.monotonic() - started, 2)


def median_result(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        requests_per_s=round(statistics.median(r.requests_per_s for r in results), 1),
        p50_ms=round(statistics.median(r.p50_ms for r in results), 2),
        p99_ms=round(statistics.median(r.p99_ms for r in results), 2),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
    )


@dataclass
class Upload:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Signer:
    """The vendor uploading and the key it signs with (a registered key's private half)."""

    vendor: str
    private_key: str
    key_id: str

    @classmethod
    def from_seed(cls, seed: dict) -> Signer:
        """The upload vendor the bench's ``catalogue`` seed answers with."""
        return cls(seed["vendor_slug"], seed["private_key"], seed["key_id"])


def signed_uploads(
    count: int, *, size: int, signer: Signer, agent: str, major: int
) -> list[Upload]:
    """``count`` distinct packages of about ``size`` bytes, signed, as multipart bodies."""
    key = signing.decode_private_key(signer.private_key)
    uploads = []
    for n in range(count):
        manifest = make_manifest(name=agent, vendor=signer.vendor, version=f"{major}.{n}.0")
        model = b"\x1c\x00\x00\x00TFL3" + os.urandom(size - 8)  # incompressible, like weights
        data = make_package(manifest, model_bytes=model)
        signature = signing.encode_b64(signing.sign_package(key, data))
        uploads.append(_multipart({"signature": signature, "key_id": signer.key_id}, data))
    return uploads


def _multipart(fields: dict[str, str], package: bytes) -> Upload:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="package"; '
        f'filename="agent.epk"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + package
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return Upload(b"".join(parts), f"multipart/form-data; boundary={boundary}")


@dataclass
class UploadResult:
    uploads: int
    created: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_s: float


def _percentile(sorted_ms: list[float], fraction: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, round(fraction * len(sorted_ms) + 0.5) - 1))
    return round(sorted_ms[index], 2)


def run_uploads(port: int, token: str, uploads: list[Upload], clients: int) -> UploadResult:
    """POST every upload once, ``clients`` at a time over keep-alive connections."""
    work: queue.Queue[Upload] = queue.Queue()
    for upload in uploads:
        work.put(upload)
    times: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                upload = work.get_nowait()
            except queue.Empty:
                break
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": upload.content_type,
                "Content-Length": str(len(upload.body)),
            }
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/agents/upload", body=upload.body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                times.append(elapsed)
                statuses.append(status)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(times)
    return UploadResult(
        uploads=len(times),
        created=statuses.count(201),
        errors=sum(1 for s in statuses if s != 201),
        p50_ms=_percentile(ordered, 0.50),
        p95_ms=_percentile(ordered, 0.95),
        p99_ms=_percentile(ordered, 0.99),
        per_s=round(len(times) / wall, 1) if wall else 0.0,
    )
