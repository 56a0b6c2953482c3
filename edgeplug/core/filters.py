"""Query filters shared by the API's list endpoints."""

from datetime import UTC

import django_filters
from rest_framework.exceptions import ValidationError


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC.

    ISO 8601 allows offsets up to ±23:59 but PostgreSQL refuses those over ±15:59, so the
    value is converted first; one outside the representable range is a 400, not a 500.
    """

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError as exc:
                raise ValidationError(
                    {self.field_name: ["Date-time out of range."]}, code="invalid"
                ) from exc
        return super().filter(qs, value)
