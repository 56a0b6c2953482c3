"""manage.py import_osv PATH [--rescan auto|always|never]"""

from django.core.management.base import BaseCommand, CommandError

from certification.security.errors import OsvError
from certification.vulndb import database as vulndb


class Command(BaseCommand):
    help = (
        "Import OSV advisories into the offline vulnerability database from a directory, a .json "
        "file or a .zip as osv.dev publishes per ecosystem (e.g. PyPI/all.zip). Idempotent: "
        "an advisory is rewritten only when its 'modified' time is newer."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Directory, .json file or .zip of OSV records.")
        parser.add_argument(
            "--rescan",
            choices=("auto", "always", "never"),
            default="auto",
            help="Queue the re-scan of certified versions: when the import changed something "
            "(auto, the default), in any case, or not at all.",
        )

    def handle(self, *args, path, rescan, **options):
        try:
            report = vulndb.import_osv(path, rescan=rescan == "auto")
        except OsvError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        total = report.created + report.updated + report.unchanged + report.invalid
        if total == 0:
            raise CommandError(f"osv_no_records: no OSV records (.json files or zips) in {path}")
        for example in report.invalid_examples:
            self.stderr.write(f"skipped invalid record: {example}")
        if report.invalid > len(report.invalid_examples):
            self.stderr.write(
                f"... and {report.invalid - len(report.invalid_examples)} more invalid records"
            )
        self.stdout.write(
            f"Imported {path}: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.invalid} invalid; "
            f"{report.advisories_in_db} advisories in the database."
        )
        if rescan == "always":
            vulndb.enqueue_rescan()
        if rescan == "always" or (rescan == "auto" and report.changed):
            self.stdout.write("Queued the re-scan of every certified version.")
