"""The example agent built from this project's own sample model (the int8 sensor classifier
the tests certify): its manifest, SBOM and files. ``manage.py example_agent`` writes them to a
directory for the CLI walkthrough; ``manage.py seed_demo`` uploads and certifies them."""

import json

from certification.tflm import sample_models


def example_manifest(vendor: str, name: str, version: str, firmware: bool) -> dict:
    sample = sample_models.sensor_classifier()
    manifest = {
        "schema_version": 1,
        "name": name,
        "version": version,
        "vendor": vendor,
        "agent_type": "anomaly-detection",
        "description": "Classifies four sensor readings into normal, warning and shutdown.",
        "license": "Apache-2.0",
        "target": {"core": "cortex-m4", "clock_mhz": 64, "ram_kb": 256, "flash_kb": 1024},
        "model": sample.manifest_model(),
        "limits": {"inference_time_us": 400, "model_size_kb": 64, "arena_kb": 16},
        "safety_level": "high",
        "invariants": list(sample.invariants),
        "sbom": {"file": "sbom.cdx.json"},
    }
    if firmware:
        manifest["firmware"] = {"file": "firmware.elf", "board": "mps2-an386"}
    return manifest


def example_sbom(name: str, version: str) -> dict:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": name, "version": version}},
        "components": [
            {
                "type": "library",
                "name": "tflite-micro",
                "version": "0.dev20261023182759",
                "purl": "pkg:pypi/tflite-micro@0.dev20261023182759",
                "licenses": [{"license": {"id": "Apache-2.0"}}],
            }
        ],
    }


def example_files(vendor: str, name: str, version: str, manifest: dict | None = None) -> dict:
    """The package's files (archive name → bytes), firmware excepted (it needs a toolchain)."""
    manifest = manifest or example_manifest(vendor, name, version, firmware=False)
    return {
        "manifest.json": json.dumps(manifest, indent=2).encode() + b"\n",
        "model.tflite": sample_models.sensor_classifier().tflite,
        "sbom.cdx.json": json.dumps(example_sbom(name, version), indent=2).encode(),
    }
