"""Content negotiation for the API: JSON (and a view's own file or CSV types), never DRF's
HTML pages. ``?format=`` naming no type the endpoint answers is a ``400 invalid_choice`` on
that parameter, as any other query parameter with a fixed set of values (DRF answered it
``404 not_found``, which a client reads as a missing object). An address that names its
format (``/statement.csv``) answers that one only: a ``?format=`` beside it naming another is
refused too, where DRF ignored it. An ``Accept`` no renderer satisfies stays DRF's
``406 not_acceptable``."""

from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        param = self.settings.URL_FORMAT_OVERRIDE
        asked = request.query_params.get(param)
        if asked is not None:  # an empty ?format= names no format either: refused, not ignored
            formats = (
                [format_suffix]
                if format_suffix
                else list(dict.fromkeys(renderer.format for renderer in renderers))
            )
            if asked not in formats:
                choices = ", ".join(formats)
                raise exceptions.ValidationError(
                    {
                        param: [
                            ErrorDetail(
                                f"{asked!r} is not one of the formats this endpoint answers "
                                f"({choices}).",
                                code="invalid_choice",
                            )
                        ]
                    }
                )
        return super().select_renderer(request, renderers, format_suffix)
