"""Builders for CycloneDX JSON SBOMs as a vendor's tooling would write them."""

from __future__ import annotations

import json
from typing import Any

SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"


def component(
    name: str,
    version: str | None,
    purl: str | None = None,
    *,
    licenses: tuple[str, ...] = ("MIT",),
    **extra: Any,
) -> dict[str, Any]:
    """A library component; each licence string becomes an SPDX id entry, or an expression
    entry when it contains a space."""
    entry: dict[str, Any] = {"type": "library", "name": name, **extra}
    if version is not None:
        entry["version"] = version
    if purl is not None:
        entry["purl"] = purl
    if licenses:
        entry["licenses"] = [
            {"expression": text} if " " in text else {"license": {"id": text}} for text in licenses
        ]
    return entry


def document(*components: dict[str, Any], spec: str = "1.6", **extra: Any) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": SERIAL,
        "version": 1,
        "metadata": {
            "timestamp": "2025-01-15T10:00:00Z",
            "component": {
                "type": "application",
                "name": "vibration-anomaly-agent",
                "version": "1.2.0",
            },
        },
        "components": list(components),
        **extra,
    }


def cyclonedx(*components: dict[str, Any], spec: str = "1.6", **extra: Any) -> bytes:
    return json.dumps(document(*components, spec=spec, **extra)).encode()
