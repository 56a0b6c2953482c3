"""The OpenAPI schema documents every error an operation can answer, with one error body.

Every API error is ``{"code", "detail"}`` (edgeplug.core.exceptions, error_views); this
AutoSchema adds those responses to each operation, so clients and schemathesis know them.
"""

from functools import wraps

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from edgeplug.core.renderers import JsonErrorsMixin
from edgeplug.core.serializers import StrictSerializerMixin

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorSerializer(serializers.Serializer):
    """The body of every API error."""

    code = serializers.CharField(help_text="Stable machine-readable error code.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    errors = serializers.JSONField(
        required=False,
        help_text=(
            "Errors per body field or query parameter, when invalid (when they name one, "
            "`field` names it too)."
        ),
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="Seconds to wait before retrying (429, 503)."
    )
    field = serializers.CharField(
        required=False,
        help_text=(
            "The body field or query parameter the error is about, when one is: with "
            "unknown_<thing>, the one naming nothing you can see; with reason_required, "
            "invalid_adjustment or nul_character, the one to correct; with a refusal whose "
            "`errors` name exactly one field (blank, invalid_choice, unknown_parameter ...), "
            "that one. Absent when the refusal is about several fields or none."
        ),
    )

    class Meta:
        ref_name = "Error"


# The key ``agent`` is historical: the agent's id in plans, orders, entitlements, deployments
# and usage rows, its name in certification runs, payout statements and device assignments.
# Changing either would break the clients that read it, so each route keeps its shape, gives
# the other one beside it, and ``agent_id`` (the id) and ``agent_name`` (the name) mean the
# same wherever they appear.
_AGENT_KEYS = (
    "`agent` is historical (the id in plans, orders, entitlements, deployments and usage rows; "
    "the name in certification runs, payout statements and device assignments): where it is "
    "the id, `agent_name` gives the name (plans: none, the agent is in their address); where "
    "it is the name, `agent_id` gives the id."
)
AGENT_AS_ID = f"The agent's id. {_AGENT_KEYS}"
AGENT_AS_NAME = f"The agent's name. {_AGENT_KEYS}"
AGENT_ID = "The agent's id, everywhere it appears."
AGENT_NAME = "The agent's name, everywhere it appears."


_DESCRIPTIONS = {
    "400": "The request is malformed or invalid: a body field (unknown_field) or query "
    "parameter (unknown_parameter) this operation does not publish, a query parameter given "
    "twice (repeated_parameter), more query parameters (too_many_parameters), form fields "
    "(too_many_fields) or files (too_many_files) than the server reads, or a body field or "
    "query parameter that names nothing you can see (unknown_<thing>, with that `field`).",
    "401": "Not signed in, or the credentials or token are wrong.",
    "402": "Payment required: no card on file, an unpaid invoice, or the payment failed.",
    "403": "Signed in, but not allowed to do this.",
    "404": "The URL names no object you can see (none, or another tenant's), or no page.",
    "406": "The Accept header asks for a type this operation does not answer (JSON, or the "
    "file or CSV it documents) (not_acceptable).",
    "409": "The request conflicts with the current state.",
    "411": "The body was sent without its length (Transfer-Encoding: chunked, no "
    "Content-Length), which is not read (length_required).",
    "413": "The request body is too large.",
    "415": "Unsupported request content type.",
    "422": "Well-formed, but the content breaks a rule (package format, signature, version).",
    "429": "Too many requests: wait Retry-After seconds.",
    "502": "The payment processor failed or could not be reached (payment_processor_error): "
    "send the same request again later.",
    "503": "A backing service is unavailable: try again shortly.",
}


def error_response(
    status: int, description: str = "", serializer=ErrorSerializer
) -> OpenApiResponse:
    """An error an operation answers beyond those every operation may (``_error_statuses``
    adds those), for its ``extend_schema(responses=...)``: the error body (or a serializer
    extending it) and what the status means, here or in general."""
    return OpenApiResponse(serializer, description=description or _DESCRIPTIONS[str(status)])


class ErrorDocumentingAutoSchema(AutoSchema):
    def _get_response_for_code(
        self, serializer, status_code, media_types=None, direction="response"
    ):
        if (
            media_types is None
            and int(status_code) >= 400
            and isinstance(self.view, JsonErrorsMixin)
        ):
            # Its other renderers (a file's media type, CSV) answer success only.
            media_types = [JSONRenderer.media_type]
        return super()._get_response_for_code(serializer, status_code, media_types, direction)

    def _get_format_parameters(self):
        # Every operation reads ?format= (edgeplug.core.negotiation: one of its formats, else
        # 400 invalid_choice), JSON-only ones too; drf-spectacular publishes it only beside a
        # second format, and a parameter the schema leaves out is refused (unknown_parameter).
        formats = self.map_renderers("format")
        if not api_settings.URL_FORMAT_OVERRIDE or not formats:
            return []
        # An address that names its format (".../{period}.csv") answers that one only.
        named = self.path.rpartition(".")[2]
        if named in formats:
            formats = [named]
        return [
            build_parameter_type(
                name=api_settings.URL_FORMAT_OVERRIDE,
                schema=build_basic_type(OpenApiTypes.STR),
                location=OpenApiParameter.QUERY,
                enum=formats,
                description="The type of the answer, as an Accept header would ask it "
                "(else 400 invalid_choice).",
            )
        ]

    def _error_statuses(self) -> list[str]:
        # 503: any operation may lose its database connection (database_unavailable).
        statuses = ["400", "404", "406", "429", "503"]
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses += ["401", "403"]
        elif self.view.authentication_classes == [] and self.method in WRITE_METHODS:
            statuses += ["401", "403"]  # sign-in doors refuse credentials and locked accounts
        elif self.view.authentication_classes:
            statuses.append("401")  # open to anyone, but a stale or wrong token is refused
        if self.method in WRITE_METHODS:
            statuses += ["409", "411", "413", "415", "422"]
        return statuses

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictSerializerMixin):
            # StrictSerializerMixin refuses unknown fields: say so.
            schema["additionalProperties"] = False
        if direction == "request":
            # A rule between fields the serializer enforces, published as anyOf: groups of
            # fields of which one must be given (required_any_of), or subschemas of which one
            # must hold (schema_any_of).
            rules = []
            if groups := getattr(serializer, "required_any_of", None):
                rules.append([{"required": list(group)} for group in groups])
            if any_of := getattr(serializer, "schema_any_of", None):
                rules.append(list(any_of))
            if len(rules) == 1:
                schema["anyOf"] = rules[0]
            elif rules:
                schema["allOf"] = [{"anyOf": rule} for rule in rules]
        return schema

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body and getattr(self.get_request_serializer(), "required_any_of", None):
            body["required"] = True  # the rule needs some fields, so a body
        return body

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status not in responses:
                response = self._get_response_for_code(ErrorSerializer, status)
                response["description"] = _DESCRIPTIONS[status]
                responses[status] = response
        return dict(sorted(responses.items()))


_NO_NUL = "^[^\\u0000]*$"


def forbid_nul_in_strings(result, generator, request, public):
    """Say in the schema what the API enforces: no text value may hold U+0000 (no database
    text column stores it, so the JSON parser and the query filters refuse it)."""
    stack = [result]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"enum", "format", "pattern"} & set(node):
                node["pattern"] = _NO_NUL
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return result


def empty_for_schema(get_queryset):
    """For a list view whose rows hang off an object the URL names (a device's deployments, an
    agent's plans): drf-spectacular builds the schema without a URL to look that object up,
    so the decorated ``get_queryset`` answers no rows of the serializer's model then."""

    @wraps(get_queryset)
    def rows(view):
        if getattr(view, "swagger_fake_view", False):
            return view.get_serializer_class().Meta.model.objects.none()
        return get_queryset(view)

    return rows
