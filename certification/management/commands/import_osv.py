"""manage.py import_osv PATH [--rescan auto|always|never]"""

from django.core.management.base import BaseCommand, CommandError

from certification.security.errors import OsvError
from certification.vulndb import database as vulndb
from edgeplug.core.commands import path_argument

QUEUED = "Queued the re-scan of every certified version."


class Command(BaseCommand):
    help = (
        "Import OSV advisories into the offline vulnerability database from a directory, a .json "
        "file or a .zip as osv.dev publishes per ecosystem (e.g. PyPI/all.zip). Idempotent: "
        "an advisory is rewritten only when its 'modified' time is newer."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", type=path_argument, help="Directory, .json file or .zip of OSV records."
        )
        parser.add_argument(
            "--rescan",
            choices=("auto", "always", "never"),
            default="auto",
            help="Queue the re-scan of certified versions: when the import changed something "
            "(auto, the default; also when it failed after changing something), in any case, "
            "or not at all.",
        )

    def handle(self, *args, path, rescan, **options):
        try:
            report = vulndb.import_osv(path, rescan=rescan == "auto")
        except vulndb.ImportFailed as exc:
            self._report_invalid(exc.report)
            message = (
                f"{exc.code}: {exc.detail}. {_counts(exc.report)} were committed before it and "
                "stay; run the import again once the path is fixed."
            )
            if self._rescan_queued(rescan, exc.report):
                message += f" {QUEUED}"
            raise CommandError(message) from exc
        except OsvError as exc:  # before anything was committed
            message = f"{exc.code}: {exc.detail}"
            if self._rescan_queued(rescan):
                message += f" {QUEUED}"
            raise CommandError(message) from exc
        total = report.created + report.updated + report.unchanged + report.invalid
        if total == 0:
            raise CommandError(f"osv_no_records: no OSV records (.json files or zips) in {path}")
        self._report_invalid(report)
        self.stdout.write(
            f"Imported {path}: {_counts(report)}; "
            f"{report.advisories_in_db} advisories in the database."
        )
        if self._rescan_queued(rescan, report):
            self.stdout.write(QUEUED)

    def _rescan_queued(self, rescan: str, report: vulndb.ImportReport | None = None) -> bool:
        """Queue the re-scan for --rescan=always; whether it is queued (import_osv queues it
        itself for auto when the import changed anything)."""
        if rescan == "always":
            vulndb.enqueue_rescan()
            return True
        return report is not None and report.rescan_queued

    def _report_invalid(self, report: vulndb.ImportReport) -> None:
        for example in report.invalid_examples:
            self.stderr.write(f"skipped invalid record: {example}")
        if report.invalid > len(report.invalid_examples):
            self.stderr.write(
                f"... and {report.invalid - len(report.invalid_examples)} more invalid records"
            )


def _counts(report: vulndb.ImportReport) -> str:
    return (
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.invalid} invalid"
    )
