"""The package format and signing modules load without Django, as the vendor CLI needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_package_format_and_signing_import_without_django():
    script = (
        "import sys\n"
        "import edgeplug.signing, marketplace.packageformat\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO, env={})
