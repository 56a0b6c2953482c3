"""The checked-in gRPC code is what `make proto` generates from proto/ (stale code fails)."""

import subprocess
from pathlib import Path

from django.conf import settings


def generated(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*_pb2*"))
        if path.suffix in (".py", ".pyi")
    }


def test_checked_in_code_matches_the_protos(tmp_path):
    base = Path(settings.BASE_DIR)
    subprocess.run([str(base / "scripts/protoc.sh"), str(tmp_path)], check=True)
    fresh = generated(tmp_path)
    assert fresh, "protoc generated nothing"
    assert fresh == {name: (base / name).read_bytes() for name in fresh}
    assert set(generated(base / "edgeplug")) == {name.removeprefix("edgeplug/") for name in fresh}
