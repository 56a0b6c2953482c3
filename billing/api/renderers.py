"""CSV for usage reports and payout statements (``Accept: text/csv``): one line per row;
errors stay ``{"code", "detail"}`` JSON (``edgeplug.core.renderers.JsonErrorsMixin``)."""

import csv
import io

from rest_framework.renderers import BaseRenderer

from billing.csv_stream import safe_cell as _cell


class UsageCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        rows, columns = data["rows"], data.get("columns") or []
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        columns = columns or (list(rows[0]) if rows else [])
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
        return out.getvalue().encode()
