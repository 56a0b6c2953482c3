"""manage.py import_osv PATH [--rescan auto|always|never]"""

from django.core.management.base import BaseCommand, CommandError

from certification.security.errors import OsvError
from certification.vulndb import database as vulndb
from edgeplug.core.commands import path_argument
from edgeplug.errors import BrokerUnavailable

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
            queued, refused = self._rescan(path, rescan, exc.report)
            raise CommandError(" ".join(filter(None, (message, queued, refused)))) from exc
        except OsvError as exc:  # before anything was committed
            queued, refused = self._rescan(path, rescan)
            message = f"{exc.code}: {exc.detail}"
            raise CommandError(" ".join(filter(None, (message, queued, refused)))) from exc
        total = report.created + report.updated + report.unchanged + report.invalid
        if total == 0:
            raise CommandError(f"osv_no_records: no OSV records (.json files or zips) in {path}")
        self._report_invalid(report)
        self.stdout.write(
            f"Imported {path}: {_counts(report)}; "
            f"{report.advisories_in_db} advisories in the database."
        )
        queued, refused = self._rescan(path, rescan, report)
        if refused:  # what was imported stays: exit 1, as a failure after committing does
            raise CommandError(refused)
        if queued:
            self.stdout.write(queued)

    def _rescan(
        self, path, rescan: str, report: vulndb.ImportReport | None = None
    ) -> tuple[str, str]:
        """Queue the re-scan for --rescan=always (import_osv queues it itself for auto when
        the import changed anything); (QUEUED or "", or why the broker refused it and how to
        queue it later)."""
        refused = report.rescan_refused if report is not None else None
        if rescan == "always":
            try:
                vulndb.enqueue_rescan()
            except BrokerUnavailable as exc:
                refused = exc
            else:
                return QUEUED, ""
        if refused is not None:
            return "", (
                f"{refused.code}: the re-scan of every certified version was not queued: the "
                "task queue did not take it. What was imported stays; run "
                f"`manage.py import_osv {path} --rescan=always` once the task queue is back."
            )
        return (QUEUED if report is not None and report.rescan_queued else ""), ""

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
