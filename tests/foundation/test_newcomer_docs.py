"""What a newcomer reads and types first: the README, its commands, and example_agent's hint."""

import os
import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)
README = (ROOT / "README.md").read_text()
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "doc", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
)
def test_every_relative_link_points_into_the_repository(doc):
    path = ROOT / doc
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT.resolve()), f"{doc} links outside the repo: {target}"
        assert resolved.exists(), f"{doc} links to a missing file: {target}"


def test_the_readme_links_the_architecture_document_in_docs():
    assert "](docs/architecture.md)" in README
    assert (ROOT / "docs" / "architecture.md").is_file()


def _walkthrough_commands() -> list[str]:
    block = README.split("## A first certification, by hand", 1)[1].split("```sh", 1)[1]
    text = block.split("```", 1)[0].replace("\\\n", " ")
    return [line.split("#")[0].strip() for line in text.splitlines() if line.strip()]


def test_the_walkthrough_verifies_the_vendor_signature_too():
    verify = next(c for c in _walkthrough_commands() if " verify " in f" {c} ")
    for option in ("--key", "--certificate", "--keyset"):
        assert option in verify, verify


def test_the_walkthrough_sets_up_the_vendor_before_packing():
    order = [c.split()[1] for c in _walkthrough_commands() if c.startswith(".venv/bin/edgeplug")]
    assert order.index("keygen") < order.index("login") < order.index("register-key")
    assert order.index("register-key") < order.index("pack") < order.index("sign")


def test_example_agent_hints_keygen_login_and_register_key_before_pack(tmp_path):
    out = StringIO()
    call_command("example_agent", str(tmp_path / "agent"), stdout=out)
    text = out.getvalue()
    steps = [text.index(f"edgeplug {s}") for s in ("keygen", "login", "register-key", "pack")]
    assert steps == sorted(steps), text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["make", "-n", "run", "PORT=8001"], "scripts/run.sh --port 8001"),
        (["make", "-n", "run"], "scripts/run.sh"),
        (["make", "-n", "test", 'ARGS=-m "not slow" -x'], 'scripts/test.sh -m "not slow" -x'),
    ],
)
def test_make_passes_port_and_pytest_arguments_through(command, expected):
    # What the README promises: make run PORT=8001 and make test ARGS='-m "not slow"'.
    assert "make run PORT=8001" in README and "make test ARGS='-m \"not slow\"'" in README
    # As a person types it: not inside the suite's own `make test` (whose MAKELEVEL and
    # MAKEFLAGS would print "Entering directory" lines and pass its variables down).
    env = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    shown = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip().splitlines() == [expected]


def test_runstack_takes_the_port_make_run_hands_it():
    from django.core.management import load_command_class

    parser = load_command_class("edgeplug.core", "runstack").create_parser("manage.py", "runstack")
    assert parser.parse_args(["--port", "8001"]).port == 8001
