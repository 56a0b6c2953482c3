"""Pagination for every list endpoint: page and page_size are checked, not silently ignored."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination

from edgeplug.text import ascii_integer


def _positive(raw: str) -> int | None:
    """``raw`` as a positive integer written in ASCII digits only (no sign, no ``1_0``)."""
    number = ascii_integer(raw)
    return number if number else None


class StrictPageSizeMixin:
    """A page or page_size that is not a positive integer is a 400, as the schema and
    docs/commerce.md say (DRF's ``page=last`` too: the last page is ``count`` over the size),
    and so is a page_size above ``max_page_size``, which the schema publishes as its
    ``maximum``: DRF cut it to the largest unsaid, and a client reading "fewer rows than I
    asked for" as the last page stopped short."""

    last_page_strings = ()

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and _positive(raw) is None:
            raise exceptions.ValidationError(
                {self.page_query_param: ["Must be a positive integer."]}, code="invalid_page"
            )
        return super().get_page_number(request, paginator)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = _positive(raw)
        if size is None:
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["Must be a positive integer."]},
                code="invalid_page_size",
            )
        if size > self.max_page_size:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        f"Must be at most {self.max_page_size}; read further pages with "
                        f"{self.page_query_param}."
                    ]
                },
                code="invalid_page_size",
            )
        return size

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound:
            # DRF's "Invalid page." is a 404 ``not_found``, which a client reads as a missing
            # object: say which page, how many there are, with its own code.
            pages = self.django_paginator_class(queryset, self.get_page_size(request)).num_pages
            raise exceptions.NotFound(
                f"Page {request.query_params.get(self.page_query_param)} is past the last "
                f"page ({pages}).",
                code="page_out_of_range",
            ) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in (self.page_query_param, self.page_size_query_param):
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


class DefaultPagination(StrictPageSizeMixin, PageNumberPagination):
    """Every list's pagination (``REST_FRAMEWORK``'s default); a list of another shape
    subclasses it, so the largest page is said once."""

    page_size_query_param = "page_size"
    max_page_size = 200


def page_serializer(name: str, results: type[serializers.Serializer], **beside) -> type:
    """The schema of a ``DefaultPagination`` page whose view adds keys beside ``results`` (the
    catalogue's ``facets``, a review list's ``summary``): ``count``, ``next``, ``previous``,
    ``results`` and each of ``beside`` (a serializer instance). For
    ``@extend_schema(responses=...)``; marked as one object, so the schema does not wrap it in
    a page again."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": results(many=True),
        **beside,
    }
    page = type(name, (serializers.Serializer,), fields)
    return extend_schema_serializer(many=False)(page)
