"""`edgeplug --help` documents every command, and wrong usage exits with status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COMMANDS = (
    "keygen",
    "login",
    "logout",
    "register-key",
    "revoke-key",
    "pack",
    "sign",
    "upload",
    "status",
    "verify",
    "fetch-certificate",
    "fetch-keyset",
)


def test_help_lists_every_command(cli):
    out = cli.ok("--help")
    rows = out.split("Commands:")[1].splitlines()
    listed = [row.split()[0] for row in rows if row.startswith("  ") and not row.startswith("   ")]
    assert sorted(listed) == sorted(COMMANDS)
    assert "Exit status: 0 done" in " ".join(out.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_its_own_help(cli, command):
    out = cli.ok(command, "--help")
    assert out.startswith(f"Usage: edgeplug {command}")
    assert "-h, --help" in out


def test_the_console_script_is_installed_with_the_project(tmp_path):
    script = Path(sys.executable).with_name("edgeplug")
    assert script.exists(), "pip install -e . installs the edgeplug console script"
    result = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        env={"EDGEPLUG_CONFIG_DIR": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "upload" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("frobnicate",),
        ("status",),
        ("status", "1", "--run", "2"),
        ("status", "1", "--watch"),
        ("upload", "missing.epk"),
        ("verify", "missing.epk"),
        ("login", "--email", "someone@example.com"),
    ],
)
def test_wrong_usage_exits_2(cli, args):
    result = cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Usage: edgeplug" in result.stderr


def test_commands_that_need_a_session_say_so(cli, tmp_path):
    package = tmp_path / "agent.epk"
    package.write_bytes(b"not really a package")
    cli.refused("upload", str(package), "--signature", str(package), code="not_logged_in")
