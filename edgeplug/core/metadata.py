"""OPTIONS on the API: the body a POST or PUT takes is described by the request serializer the
operation publishes in the schema (``extend_schema(request=...)``), not by the serializer it
answers with, which DRF's ``SimpleMetadata`` used (``OPTIONS /api/v1/orders`` listed the
order, every field read-only, none required)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request
from rest_framework.serializers import BaseSerializer


def _request_serializer(view, method: str):
    """The serializer ``method``'s handler reads its body with, as the schema publishes it:
    its ``extend_schema(request=...)`` (drf-spectacular keeps the override on the handler, as
    its generator reads it in ``create_view``), else the view's own."""
    # A viewset's handler is its action (create); rest_framework.viewsets is not imported
    # here: this module is loaded while DRF's views are (DEFAULT_METADATA_CLASS).
    actions = getattr(view, "action_map", None)
    name = actions.get(method.lower(), "") if actions is not None else method.lower()
    schema_class = getattr(getattr(view, name, None), "kwargs", {}).get("schema")
    if schema_class is None:
        return view.get_serializer()
    schema = schema_class()
    schema.view, schema.method = view, method
    declared = schema.get_request_serializer()
    if isinstance(declared, type) and issubclass(declared, BaseSerializer):
        return declared(context=view.get_serializer_context())
    return declared if isinstance(declared, BaseSerializer) else view.get_serializer()


class RequestBodyMetadata(SimpleMetadata):
    def determine_actions(self, request, view):
        # SimpleMetadata's, reading each method's own request serializer.
        actions = {}
        for method in {"PUT", "POST"} & set(view.allowed_methods):
            view.request = clone_request(request, method)
            try:
                view.check_permissions(view.request)
                if method == "PUT" and hasattr(view, "get_object"):
                    view.get_object()
            except (exceptions.APIException, PermissionDenied, Http404):
                pass
            else:
                actions[method] = self.get_serializer_info(_request_serializer(view, method))
            finally:
                view.request = request
        return actions
