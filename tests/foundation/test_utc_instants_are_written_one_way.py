"""A UTC instant is written as text one way (``edgeplug.timefmt.utc_iso``), by the product and
its benchmarks alike; the benchmarks that run without Django can still import it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["edgeplug", "marketplace", "certification", "billing", "benchmarks"]
HOME = ROOT / "edgeplug" / "timefmt.py"
BY_HAND = ['.replace("+00:00", "Z")', 'strftime("%Y-%m-%dT%H:%M:%SZ")']


def test_no_module_writes_a_utc_instant_by_hand():
    written = [
        f"{path.relative_to(ROOT)}: {pattern}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != HOME
        for pattern in BY_HAND
        if pattern in path.read_text()
    ]
    assert written == [], "use edgeplug.timefmt.utc_iso"


@pytest.mark.parametrize("module", ["benchmarks.soak", "benchmarks.tflm_qemu"])
def test_a_benchmark_imports_the_time_format_without_loading_django(module):
    probe = f"import sys, {module}; print('django' in sys.modules)"
    outside_django = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=outside_django,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr
