"""Run the ``edgeplug`` CLI as a real process, against a live test server or a stub one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import PASSWORD, MembershipFactory, TenantFactory, UserFactory
from tests.packageformat.builders import default_files, make_manifest

REPO = Path(__file__).resolve().parents[2]
SETPRIV = shutil.which("setpriv")
VENDOR_SLUG = "acme-robotics"  # the vendor named by the default test manifest


@dataclass
class Cli:
    """The CLI as one user on one machine: its own config directory and working directory."""

    home: Path
    password: str = PASSWORD

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def key_file(self) -> str:
        """Where ``edgeplug keygen`` writes the signing key by default."""
        return str(self.config_dir / "signing-key.json")

    def __call__(
        self,
        *args: str,
        password: str | None = None,
        file_size_limit: int | None = None,
        file_modes_bind: bool = False,
    ) -> subprocess.CompletedProcess:
        """``file_size_limit``: the largest file the process may write, in bytes (``ulimit -f``:
        a full disk's failure, without filling one). Python then writes no bytecode: the limit
        cuts a ``.pyc`` short, which every later run would fail to load.

        ``file_modes_bind``: run as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
        (``setpriv``), so that a file's mode binds the CLI as it binds a vendor's ordinary
        account; the suite may run as root, who reads and writes any file."""
        env = self._env(password)
        if file_size_limit is not None or file_modes_bind:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        prefix = _without_dac_override() if file_modes_bind else []
        return subprocess.run(
            [*prefix, sys.executable, "-m", "marketplace.cli", *args],
            cwd=self.home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=None if file_size_limit is None else _limit_file_size(file_size_limit),
        )

    def start(self, *args: str) -> subprocess.Popen:
        """Start a command that runs on (``status --watch``) as in a terminal of its own; the
        caller reads its output and waits for it or kills it."""
        return subprocess.Popen(
            [sys.executable, "-m", "marketplace.cli", *args],
            cwd=self.home,
            env=self._env(None),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _env(self, password: str | None) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "PYTHONPATH": str(REPO),
            "EDGEPLUG_CONFIG_DIR": str(self.config_dir),
            "EDGEPLUG_PASSWORD": self.password if password is None else password,
        }

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its stdout."""
        result = self(*args)
        assert result.returncode == 0, (result.stdout, result.stderr)
        return result.stdout

    def refused(self, *args: str, code: str) -> subprocess.CompletedProcess:
        """Run a command that must fail, exit status 1, with one ``error: <code>: ...`` line."""
        result = self(*args)
        assert result.returncode == 1, (result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and errors[0].startswith(f"error: {code}: "), result.stderr
        return result

    def session(self) -> dict:
        return json.loads((self.config_dir / "config.json").read_text())


def _without_dac_override() -> list[str]:
    """The command prefix that makes root subject to file modes; none for another user."""
    if os.geteuid() != 0:
        return []
    if SETPRIV is None:
        pytest.skip("running as root, and setpriv (util-linux) is needed to drop its DAC override")
    caps = "-dac_override,-dac_read_search"
    return [SETPRIV, f"--bounding-set={caps}", f"--inh-caps={caps}"]


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.fixture
def cli(tmp_path) -> Cli:
    home = tmp_path / "vendor"
    home.mkdir()
    return Cli(home)


@pytest.fixture
def make_cli(tmp_path) -> Callable[[str], Cli]:
    """Another machine: a CLI with a config directory of its own."""

    def make(name: str) -> Cli:
        home = tmp_path / name
        home.mkdir()
        return Cli(home)

    return make


@pytest.fixture
def agent_dir(tmp_path) -> Path:
    """A directory holding a valid agent's files, as a vendor would keep them."""
    return write_agent(tmp_path / "pump-anomaly", make_manifest())


def write_agent(directory: Path, manifest: dict, **files: bytes) -> Path:
    """Write the files of a valid package for ``manifest``; ``model_bytes`` etc. as in builders."""
    directory.mkdir()
    for name, content in default_files(manifest, **files).items():
        (directory / name).write_bytes(content)
    return directory


def member(tenant, role: str = "developer"):
    return MembershipFactory(role=role, tenant=tenant, user=UserFactory()).user


@pytest.fixture
def developer(transactional_db):
    """A developer of the vendor tenant that the default test manifest names."""
    tenant = TenantFactory(slug=VENDOR_SLUG, is_vendor=True, is_customer=False)
    return member(tenant)


@pytest.fixture
def signed_in(cli, developer, live_server) -> Cli:
    cli.ok("login", "--server", live_server.url, "--email", developer.email)
    return cli


@dataclass
class StubApi:
    """A stand-in server answering fixed JSON per path, for endpoints the CLI only reads."""

    url: str
    routes: dict[str, list[tuple[int, object]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)

    def answer(self, path: str, *responses: tuple[int, object]) -> None:
        """Answer ``path`` with each response in turn, repeating the last one."""
        self.routes[path] = list(responses)


@pytest.fixture
def stub_api() -> Iterator[StubApi]:
    stub = StubApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            stub.bodies[self.path] = self.rfile.read(length)
            self._reply()

        def _reply(self) -> None:
            stub.requests.append((self.command, self.path, self.headers.get("Authorization")))
            responses = stub.routes.get(self.path, [(404, {"code": "not_found", "detail": "?"})])
            status, body = responses.pop(0) if len(responses) > 1 else responses[0]
            # bytes are sent as they are, as an HTML page (a proxy's, another site's)
            raw = isinstance(body, bytes)
            payload = body if raw else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if raw else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    stub.answer(
        "/api/v1/auth/token",
        (
            200,
            {
                "access": "stub-access",
                "refresh": "stub-refresh",
                "tenant": VENDOR_SLUG,
                "role": "developer",
            },
        ),
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()
