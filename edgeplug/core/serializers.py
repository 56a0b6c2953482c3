"""Serializer base classes shared by every API."""

import functools

from django.utils.datastructures import MultiValueDict
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty

from edgeplug.core.parsers import read_json
from edgeplug.errors import UNKNOWN_FIELD, BodyNotTaken, UnreadableBody
from edgeplug.text import DOCUMENT_TEXT_PATTERN, NONBLANK_DOCUMENT_TEXT_PATTERN, refuse_nul


class StrictSerializerMixin:
    """Refuse fields the endpoint does not know instead of silently ignoring them: before the
    known ones are read, so a body of only an unknown field is told ``unknown_field``, not
    that a field it meant to send under that name is required."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [UNKNOWN_FIELD] for name in unknown}, code="unknown_field"
                )
        # A JSON object; a form's or multipart body's QueryDict (a dict too) holds only text.
        if isinstance(data, dict) and not isinstance(data, MultiValueDict):
            wrong = {
                name: [ErrorDetail(f"Must be {kind}, not {data[name]!r}.", code="invalid")]
                for name, field in self.fields.items()
                if name in data and (kind := _json_type_refused(field, data[name]))
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def _json_type_refused(field: serializers.Field, value) -> str | None:
    """What JSON type ``field`` takes when ``value`` is another, else None: DRF would read
    ``123`` as the text "123", ``"1000"`` as the integer 1000 and ``"yes"`` as true, where
    the schema publishes a string, an integer and a boolean."""
    if value is None or field.read_only:
        return None
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "an integer"
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return "a string"
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "a boolean"  # DRF reads "yes", "on", 1 and "1" as true
    return None


class StrictSerializer(StrictSerializerMixin, serializers.Serializer): ...


# A model as the API shows it: every field in ``Meta.fields`` is read-only (the API changes
# rows through actions, each with its own input serializer). A comment, not a docstring: the
# OpenAPI schema would print a docstring as the description of every subclass.
class ReadOnlyModelSerializer(serializers.ModelSerializer):
    def get_extra_kwargs(self):
        extra_kwargs = super().get_extra_kwargs()
        for name in self.Meta.fields:
            extra_kwargs[name] = {**extra_kwargs.get(name, {}), "read_only": True}
        return extra_kwargs


class ActionCheckedCharField(serializers.CharField):
    """Text whose limits (length, pattern, non-blank) the OpenAPI schema publishes and the
    action checks: the API then answers a bad value with the action's refusal and code, as
    the portal, the admin and the CLI do. The field keeps its validators for the schema and
    runs none of them but NUL's, which no database text column stores (a form or multipart
    body is not read by the JSON parser that refuses it): ``400 nul_character`` on the field,
    as every door says it; a blank value reaches the action as ``""``."""

    def run_validation(self, data=empty):
        if isinstance(data, str) and not data.strip():
            return ""
        return super().run_validation(data)

    def run_validators(self, value):
        refuse_nul(value, field=self.field_name)


class ActionRequiredCharField(ActionCheckedCharField):
    """An ``ActionCheckedCharField`` the schema marks required and the action requires: a
    missing or null value reaches the action as a blank one, which it refuses with its own
    code (``reason_required``, ``public_key_required``) rather than the serializer's
    ``required``."""

    def run_validation(self, data=empty):
        if data is empty or data is None:
            return ""
        return super().run_validation(data)


class ActionCheckedSlugField(ActionCheckedCharField, serializers.SlugField):
    """An ``ActionCheckedCharField`` whose schema states the slug pattern."""


class ActionCheckedChoiceField(serializers.ChoiceField):
    """A value from a fixed list that the OpenAPI schema publishes (an ``enum``) and the action
    checks, as ``ActionCheckedCharField`` does for text: any string or number reaches the
    action, which refuses one outside the list with its own code and field (DRF's
    ``invalid_choice`` quoted a number as the text it made of it)."""

    def to_internal_value(self, data):
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return data
        return super().to_internal_value(data)


class IsSetField(serializers.BooleanField):
    """A read-only flag saying whether the field named by ``source`` holds a value: a plan is
    ``retired`` once it has a ``retired_at``, a version ``yanked`` once it has a ``yanked_at``."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance) -> bool:
        # Here, not in to_representation: a serializer renders a None attribute as null
        # without asking its field.
        return super().get_attribute(instance) is not None


class JSONTextField(serializers.JSONField):
    """A JSON value of any type. A JSON body's was read by the API's parser; a form's or
    multipart body's is text, read here by the same reader (``read_json``), so the same text
    gets the same answer in either: ``400 malformed_json`` on the field for what is not JSON
    or is nested too deeply. DRF's own reading let ``json.loads``'s RecursionError through,
    a 500."""

    def to_internal_value(self, data):
        if getattr(data, "is_json_string", False):  # DRF's mark on a form's text
            return read_json(data.encode("utf-8", "surrogatepass"), field=self.field_name)
        return super().to_internal_value(data)


class DocumentTextField(serializers.CharField):
    """Text printed on invoices (a name, an address, a plan name). The action refuses a
    control character (``edgeplug.text.unprintable``, with its own code); the OpenAPI schema
    publishes the same rule as a pattern (``DocumentTextFieldSchema``). ``max_length`` holds
    for the text as sent, as the schema's ``maxLength`` says, not only once stripped."""

    def to_internal_value(self, data):
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class DocumentTextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = DocumentTextField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if not self.target.allow_blank:
            return {**schema, "pattern": NONBLANK_DOCUMENT_TEXT_PATTERN}
        # Published as oneOf(this, the empty string): this one then needs a character, or ""
        # would match both; blanks alone are accepted (stripped to "").
        return {**schema, "pattern": DOCUMENT_TEXT_PATTERN, "minLength": 1}


def validated(serializer_class: type[serializers.Serializer], request, **context) -> dict:
    """The request body as ``serializer_class`` validates it; invalid input is a 400 with the
    field errors (``raise_exception``), so a view goes on only with clean data."""
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def refuse_body(request) -> None:
    """What ``validated`` is to an operation that takes no body (revoking a device, rotating
    its token): a body is refused as its fields would be (``400 unknown_field``, naming
    them), or as unreadable (JSON that is no object: ``malformed_request``; the parser's
    refusals stand: ``malformed_json``, ``415`` for a media type the API does not read).
    Accepted, the operation went ahead and dropped what the client meant it to read
    ({"reason": "stolen"}). What clients send for "no body" (nothing, ``{}``, ``null``, a
    form without fields) passes. Called once the object is found, as ``validated`` is:
    another tenant's is a 404 whatever the body."""
    data = request.data
    if data is None or (hasattr(data, "keys") and not data):
        return
    if hasattr(data, "keys"):
        raise BodyNotTaken(data.keys())
    raise UnreadableBody("This operation takes no body: send none, or {}.")


@functools.cache
def _shared(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    return serializer_class()


def represent(serializer_class: type[serializers.Serializer], instance) -> dict:
    """``serializer_class(instance).data``, by one serializer of the class per process.

    DRF builds a serializer's fields when it is first used, a ModelSerializer's from the
    model's meta and every nested serializer's too: a millisecond for the upload's result,
    more than the rest of its rendering. Fields hold no state between objects, so one built
    serializer renders any number of them. No context: only for serializers that read
    nothing but the object (no request, no ``self.context``)."""
    return _shared(serializer_class).to_representation(instance)
