"""manage.py example_agent DIR [--vendor SLUG] [--name NAME] [--agent-version V] [--firmware]

Writes a ready-to-pack agent directory built from this project's own sample model (the int8
sensor classifier that the tests certify): manifest.json, model.tflite, sbom.cdx.json and,
with --firmware, a Cortex-M4 firmware.elf built from certification/firmware with Debian's
arm-none-eabi-gcc. Then (after keygen, login and register-key): edgeplug pack DIR, sign,
upload --certify (docs/cli.md).
"""

import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from certification.example_agent import example_files, example_manifest
from certification.simulation import toolchain
from edgeplug.core.commands import path_argument
from marketplace.packageformat.errors import PackageError
from marketplace.packageformat.manifest import validate_manifest


class Command(BaseCommand):
    help = "Write an example agent directory (model, manifest, SBOM, optional firmware)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=path_argument)
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
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        if directory.exists() and any(directory.iterdir()) and not force:
            raise CommandError(f"{directory} is not empty (use --force to overwrite).")
        files = example_files(vendor, name, agent_version, manifest)
        if firmware:
            missing = toolchain.missing_tools()
            if missing:
                raise CommandError(
                    f"--firmware needs {', '.join(missing)} (see docs/firmware-harness.md)."
                )
            with tempfile.TemporaryDirectory() as tmp:
                elf = toolchain.build_sample_fixtures(Path(tmp), "mps2-an386")["good"]
                files["firmware.elf"] = elf.read_bytes()
        for filename in files:
            target = directory / filename
            if target.exists() and not target.is_file():
                # Said before anything is written: not the files before it, then a traceback.
                raise CommandError(f"{target} is not a file; move it out of the way first.")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for filename, content in files.items():
                (directory / filename).write_bytes(content)
        except OSError as exc:  # a path under a file, a read-only or full disk
            raise CommandError(f"could not write {exc.filename}: {exc.strerror or exc}") from exc
        self.stdout.write(f"wrote {', '.join(files)} to {directory}")
        self.stdout.write(
            "next, once per vendor: edgeplug keygen; edgeplug login --server URL --email EMAIL; "
            "edgeplug register-key --name NAME"
        )
        self.stdout.write(
            f"then: edgeplug pack {directory}; edgeplug sign PACKAGE; "
            "edgeplug upload PACKAGE --certify (docs/cli.md)"
        )
