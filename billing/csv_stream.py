"""CSV written row by row for streamed responses, with cells a spreadsheet will not run."""

import csv
import itertools
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

from edgeplug.core.locking import one_snapshot

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# Excel opens a CSV without it in the computer's legacy code page ("Überwachung" becomes
# "Ãœberwachung"); programs reading the API's CSVs do not expect it.
BYTE_ORDER_MARK = "\ufeff".encode()


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    # A name such as "=HYPERLINK(...)" must not run as a formula in a spreadsheet; a plain
    # number (a negative amount such as "-10.00") is written as it is.
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return text if _PLAIN_NUMBER.match(text) else f"'{text}"
    return text


class _Line:
    """A file-like target that hands back what csv.writer writes, one row at a time."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[bytes]:
    """The header, then each row, as UTF-8 bytes (CRLF lines), never the whole file at once."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield writer.writerow(header).encode()
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row]).encode()


def download(
    chunks: Iterable[bytes],
    filename: str,
    content_type: str = "text/csv; charset=utf-8",
    *,
    for_spreadsheets: bool = False,
) -> StreamingHttpResponse:
    """A streamed file to save as ``filename``, never cached (money, customers): what the
    API, the vendor portal and finance's pages answer with their CSV and XML exports. A file
    ``for_spreadsheets`` (the portal's, opened by a person) starts with a byte order mark.

    On PostgreSQL, read in one transaction, one snapshot (``one_snapshot``): the server-side
    cursors (``.iterator(chunk_size=...)``) are then plain ones, where outside a transaction
    Django declares them ``WITH HOLD``, kept by the database session across transactions,
    which PgBouncer's transaction pooling does not keep (docs/scaling.md): the next fetch
    reached another server connection, ``cursor ... does not exist``, the file cut short.
    And the file's rows agree with each other however long it takes to send."""
    if for_spreadsheets:
        chunks = itertools.chain([BYTE_ORDER_MARK], chunks)
    response = StreamingHttpResponse(_read_in_one_snapshot(chunks), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _read_in_one_snapshot(chunks: Iterable[bytes]) -> Iterator[bytes]:
    with one_snapshot():  # closed with the response, a download given up too
        yield from chunks
