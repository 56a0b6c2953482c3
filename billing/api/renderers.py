"""CSV for usage reports and payout statements (``Accept: text/csv``): one line per row;
errors stay ``{"code", "detail"}`` JSON (``JsonErrorsMixin``)."""

import csv
import io

from rest_framework.renderers import BaseRenderer, JSONRenderer

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


class JsonErrorsMixin:
    """A view that answers CSV on success but its errors as ``{"code", "detail"}`` JSON, like
    every other error under /api/v1/ (a ``.csv`` URL forces the CSV renderer otherwise)."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response
