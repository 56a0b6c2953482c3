"""The CLI runs on a vendor's machine: it must load without Django, Celery or the server apps."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from tests.cli.conftest import REPO, write_agent
from tests.packageformat.builders import make_manifest

SERVER_SIDE = ("django", "celery", "kombu", "rest_framework", "certification", "billing")
PURE_CONTRACT = "The vendor CLI and the package format run without the server"
VOCABULARY_CONTRACT = "Certification's vocabulary runs without the server, as the CLI that reads it"


def _sources(name: str) -> tuple[str, ...]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == name]
    return tuple(contract["source_modules"])


def _allowed() -> tuple[str, ...]:
    """The project modules the CLI may load: those the import contract ``PURE_CONTRACT``
    (pyproject.toml) keeps free of server code."""
    return _sources(PURE_CONTRACT)


def _server_side(module: str) -> bool:
    """A module of the server: certification's vocabulary (the levels and run statuses, kept
    Django-free by ``VOCABULARY_CONTRACT``) and its empty package are not."""
    vocabulary = _sources(VOCABULARY_CONTRACT)
    if module == "certification" or module in vocabulary:
        return False
    return module.split(".")[0] in SERVER_SIDE


@pytest.mark.slow
def test_packing_and_verifying_import_no_server_code(tmp_path):
    agent = write_agent(tmp_path / "agent", make_manifest())
    package = tmp_path / "agent.epk"
    script = (
        "import sys\n"
        "from marketplace.cli.main import cli\n"
        "for name in cli.list_commands(None):\n"
        "    cli.get_command(None, name)\n"
        f"cli.main(['pack', {str(agent)!r}, '--out', {str(package)!r}], standalone_mode=False)\n"
        f"cli.main(['verify', {str(package)!r}], standalone_mode=False)\n"
        "print('modules:', *sorted(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "EDGEPLUG_CONFIG_DIR": str(tmp_path / "config")},
        capture_output=True,
        text=True,
        check=True,
    )
    modules = result.stdout.split("modules:")[1].split()
    assert "marketplace.packageformat" in modules, "pack and verify ran the shared validator"
    assert not [m for m in modules if _server_side(m)]
    project = [m for m in modules if m.split(".")[0] in ("edgeplug", "marketplace") and "." in m]
    assert [m for m in project if not m.startswith(_allowed())] == []
