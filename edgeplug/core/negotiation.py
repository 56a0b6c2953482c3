"""Content negotiation for the API: JSON (and a view's own file or CSV types), never DRF's
HTML pages. ``?format=`` naming no type the endpoint answers is a ``400 invalid_choice`` on
that parameter, as any other query parameter with a fixed set of values (DRF answered it
``404 not_found``, which a client reads as a missing object). An address that names its
format (``/statement.csv``) answers that one only: a ``?format=`` beside it naming another is
refused too, where DRF ignored it.

``Accept`` is read as RFC 9110 (12.5.1) says, where DRF ranked its ranges by specificity alone
and ignored ``q``: each type the endpoint answers takes the ``q`` of the most specific range
matching it, ``q=0`` is "not acceptable" (``text/csv;q=0, */*`` is never CSV), the highest
``q`` wins, then the more specific range, then the endpoint's own order (JSON first). An
``Accept`` no type satisfies stays DRF's ``406 not_acceptable``; a ``q`` that is no number in
0..1 is read as 1, as Django's ``MediaType`` reads it."""

from django.http.request import MediaType
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.utils.mediatypes import _MediaType


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
        if format_suffix or asked:
            renderers = self.filter_renderers(renderers, format_suffix or asked)
        accepts = self._get_parsed_accept_list(request)
        best, best_rank = None, None
        for renderer in renderers:
            offered = _MediaType(renderer.media_type)
            ranges = [accept for accept in accepts if offered.match(accept)]
            if not ranges:
                continue
            # The most specific range says how much the client wants this type; the first
            # of them where the header names one twice.
            matched = max(ranges, key=lambda accept: accept.precedence)
            rank = (MediaType(matched.orig).quality, matched.precedence)
            if rank[0] > 0 and (best_rank is None or rank > best_rank):
                best, best_rank = (renderer, offered, matched), rank
        if best is None:
            raise exceptions.NotAcceptable(available_renderers=renderers)
        renderer, offered, matched = best
        if offered.precedence > matched.precedence:  # */* asked: the renderer's own type
            params = "".join(f";{key}={value}" for key, value in matched.params.items())
            return renderer, renderer.media_type + params
        return renderer, matched.orig
