"""docs/package-format.md documents every refusal code vendors can receive, with its status."""

from __future__ import annotations

import re
from pathlib import Path

from edgeplug import signing
from marketplace.packageformat.errors import ERRORS_BY_CODE

DOC = Path(__file__).resolve().parents[2] / "docs" / "package-format.md"


def _documented_statuses() -> dict[str, int]:
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", DOC.read_text(), re.MULTILINE)
    return {code: int(status) for code, status in rows}


def test_every_package_refusal_is_documented_with_its_status():
    documented = _documented_statuses()
    assert {code: cls.status for code, cls in ERRORS_BY_CODE.items()} == documented


def test_signing_error_codes_are_documented():
    text = DOC.read_text()
    for error in (
        signing.MalformedKey,
        signing.MalformedSignature,
        signing.BadSignature,
        signing.CanonicalizationError,
    ):
        assert f"`{error.code}` ({error.status}" in text
