"""manage.py example_agent DIR [--vendor SLUG] [--name NAME] [--agent-version V] [--firmware]

Writes a ready-to-pack agent directory built from this project's own sample model (the int8
sensor classifier that the tests certify): manifest.json, model.tflite, sbom.cdx.json and,
with --firmware, a Cortex-M4 firmware.elf built from certification/firmware with Debian's
arm-none-eabi-gcc. Then (after keygen, login and register-key): edgeplug pack DIR, sign,
upload --certify (docs/cli.md).
"""

import json
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from certification.simulation import toolchain
from certification.tflm import sample_models
from marketplace.packageformat.errors import PackageError
from marketplace.packageformat.manifest import validate_manifest


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


class Command(BaseCommand):
    help = "Write an example agent directory (model, manifest, SBOM, optional firmware)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--vendor", default="acme-sensors", help="Your vendor tenant slug.")
        parser.add_argument("--name", default="sensor-guard")
        parser.add_argument("--agent-version", dest="agent_version", default="1.0.0")
        parser.add_argument(
            "--firmware", action="store_true", help="Also build firmware.elf (hardware level)."
        )
        parser.add_argument("--force", action="store_true", help="Overwrite existing files.")

    def handle(self, *args, directory, vendor, name, agent_version, firmware, force, **options):
        manifest = example_manifest(vendor, name, agent_version, firmware)
        try:
            validate_manifest(manifest)
        except PackageError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        if directory.exists() and any(directory.iterdir()) and not force:
            raise CommandError(f"{directory} is not empty (use --force to overwrite).")
        files = {
            "manifest.json": json.dumps(manifest, indent=2).encode() + b"\n",
            "model.tflite": sample_models.sensor_classifier().tflite,
            "sbom.cdx.json": json.dumps(example_sbom(name, agent_version), indent=2).encode(),
        }
        if firmware:
            missing = toolchain.missing_tools()
            if missing:
                raise CommandError(
                    f"--firmware needs {', '.join(missing)} (see docs/firmware-harness.md)."
                )
            with tempfile.TemporaryDirectory() as tmp:
                elf = toolchain.build_sample_fixtures(Path(tmp), "mps2-an386")["good"]
                files["firmware.elf"] = elf.read_bytes()
        directory.mkdir(parents=True, exist_ok=True)
        for filename, content in files.items():
            (directory / filename).write_bytes(content)
        self.stdout.write(f"wrote {', '.join(files)} to {directory}")
        self.stdout.write(
            "next, once per vendor: edgeplug keygen; edgeplug login --server URL --email EMAIL; "
            "edgeplug register-key --name NAME"
        )
        self.stdout.write(
            f"then: edgeplug pack {directory}; edgeplug sign PACKAGE; "
            "edgeplug upload PACKAGE --certify (docs/cli.md)"
        )
